#!/usr/bin/env bash
# Issue 28's figures: one race spread over 4 shard processes on this machine against one `turnstile serve`, prepared
# once, released at one instant, merged into one verdict; beside it, the same race unsharded. Reported: the
# cross-shard release spread (by the shards' own clocks and by the target's) from the merge's note, the verdicts,
# and the engine's CPU (user + system of every turnstile command: prepare + shards + merge, against one run).
# Loopback only; bounded by the users.
#
#   bench/shards.sh                       # 4 shards × 100 users, 3 runs
#   SHARDS=8 USERS=800 RUNS=1 bench/shards.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SHARDS=${SHARDS:-4}
USERS=${USERS:-400}
CAPACITY=${CAPACITY:-10}
RUNS=${RUNS:-3}
LEAD=${LEAD:-8}
PORT=${PORT:-18184}
DURABILITY=${DURABILITY:-full}

# shellcheck source=bench/lib.sh
. bench/lib.sh
require_tools curl python3
build_turnstile
start_turnstile

# Runs a command and prints the CPU seconds (user + system) it and its children spent.
cpu() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{usage.ru_utime + usage.ru_stime:.3f} {done.returncode}")
PY
}

race=scenarios/race.yaml
for run in $(seq "$RUNS"); do
    read -r single single_exit < <(cpu "$BIN" stress run "$race" --target "$URL" --set "users=$USERS" \
        --set "capacity=$CAPACITY" --json "$WORK/single.json")
    read -r prepare _ < <(cpu "$BIN" stress prepare "$race" --target "$URL" --set "users=$USERS" \
        --set "capacity=$CAPACITY" --out "$WORK/run.json")
    at=$(python3 -c "import time; print(time.time() + $LEAD)")
    pids=()
    for k in $(seq 0 $((SHARDS - 1))); do
        ( cpu "$BIN" stress run "$race" --target "$URL" --shard "$k/$SHARDS" --prepared "$WORK/run.json" \
            --start-at "$at" --json "$WORK/shard-$k.json" >"$WORK/cpu-$k" ) &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    shard_cpu=$(cat "$WORK"/cpu-* | awk '{ s += $1 } END { printf "%.3f", s }')
    read -r merge merge_exit < <(cpu "$BIN" stress merge "$WORK"/shard-*.json --target "$URL" \
        --prepared "$WORK/run.json" --json "$WORK/merged.json")
    python3 - "$WORK/merged.json" "$single" "$single_exit" "$prepare" "$shard_cpu" "$merge" "$merge_exit" <<'PY'
import json, sys
path, single, single_exit, prepare, shards, merge, merge_exit = sys.argv[1:]
report = json.load(open(path))
spread = next((n for n in report["notes"] if "released by" in n), "no spread noted")
book = report["phases"][0]["endpoints"][0]
statuses = ", ".join(f"{k}×{v}" for k, v in sorted(book["statusCounts"].items()))
sharded = float(prepare) + float(shards) + float(merge)
print(f"unsharded: exit {single_exit}, CPU {float(single):.2f} s; sharded: exit {merge_exit}, {statuses}, CPU "
      f"{sharded:.2f} s (prepare {float(prepare):.2f} + shards {float(shards):.2f} + merge {float(merge):.2f}), "
      f"{sharded / float(single):.2f}× the unsharded\n  {spread}")
PY
done
