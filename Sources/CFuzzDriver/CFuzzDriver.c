#include "CFuzzDriver.h"

#ifdef FUZZING
// libFuzzer's entry for programs with a main of their own (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif

int turnstile_fuzz_run(int *argc, char ***argv, turnstile_fuzz_callback callback) {
#ifdef FUZZING
    return LLVMFuzzerRunDriver(argc, argv, callback);
#else
    (void)argc;
    (void)argv;
    (void)callback;
    return -1;
#endif
}
