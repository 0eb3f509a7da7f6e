#!/usr/bin/env bash
# Fuzzes the engine's parsers of untrusted input with libFuzzer, each target for a bounded time (FUZZ_SECONDS, 30 by
# default), from the seeds in Tests/Fuzz/<target>/ (and, for scenario files, the bundled ones). Any crash, hang or
# memory blow-up fails; libFuzzer leaves the input that caused it in the working folder, to be made a regression test.
#
#   bash .ci/fuzz.sh                         every target, FUZZ_SECONDS each
#   FUZZ_SECONDS=600 bash .ci/fuzz.sh csv    one target, longer
#
# The fuzz build lives in .build-fuzz (its own scratch folder: every module is instrumented for coverage).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario expression template jsonpath csv response openapi)

swift build --product TurnstileFuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xcc -DFUZZING
fuzzer=.build-fuzz/debug/TurnstileFuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
    corpus="$work/$target"
    mkdir -p "$corpus"
    seeds=("Tests/Fuzz/$target")
    [ "$target" != scenario ] || seeds+=(scenarios docs/examples)
    echo "fuzzing $target for ${seconds}s…"
    # Bounded: in time, in one input's time (a hang), in memory (a blow-up), and in input size. -fork runs nothing
    # else at once: the machine has two cores.
    if ! TURNSTILE_FUZZ_TARGET="$target" "$fuzzer" "$corpus" "${seeds[@]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=512 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$PWD/fuzz-$target-" >"$work/$target.log" 2>&1; then
        tail -n 60 "$work/$target.log"
        echo "fuzz: $target failed; the input is in $PWD/fuzz-$target-*" >&2
        exit 1
    fi
    grep -E "^stat::number_of_executed_units|^Done" "$work/$target.log" | tr '\n' ' '
    echo
done
