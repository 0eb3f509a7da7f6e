#ifndef TURNSTILE_FUZZ_DRIVER_H
#define TURNSTILE_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// One fuzz input: libFuzzer's callback shape.
typedef int (*turnstile_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver with the process's arguments when the binary was built for fuzzing (`-DFUZZING`, with
/// `-sanitize=fuzzer`); returns -1 at once otherwise, so the same program builds without libFuzzer.
int turnstile_fuzz_run(int *argc, char ***argv, turnstile_fuzz_callback callback);

#endif
