#!/usr/bin/env bash
# Issue 27's figures: how soon Turnstile's live feed reaches 1,000 and 10,000 subscribers, as the engine's scenario
# subscribers measure it (scenarios/fanout.yaml, run by `turnstile stress fanout`): delivery latency from each bid's
# sending to each receipt, and the engine's own CPU per delivered message (user + system over the whole command,
# connecting and provisioning included, so an upper bound). Loopback only; bounded by the bid count.
#
#   bench/feed-latency.sh                                   # 1,000 and 10,000 subscribers, 20 bids, 2 runs each
#   SUBSCRIBERS=1000 RUNS=1 bench/feed-latency.sh
#   LOCAL_IPS=127.0.0.2-127.0.0.21 bench/feed-latency.sh     # a default serve (1,024 a client address), the
#                                                           # subscribers spread over 20 source addresses
set -euo pipefail
cd "$(dirname "$0")/.."

SUBSCRIBERS=${SUBSCRIBERS:-"1000 10000"}
BIDS=${BIDS:-20}
INTERVAL=${INTERVAL:-100ms}
RUNS=${RUNS:-2}
PORT=${PORT:-18183}
DURABILITY=${DURABILITY:-full}

# shellcheck source=bench/lib.sh
. bench/lib.sh
require_tools curl python3
build_turnstile
ulimit -n "$(ulimit -Hn)"
# One machine, one address: the per-client connection cap (1,024 by default) is lifted for the 10,000, unless the
# engine's connections come from several addresses (LOCAL_IPS), when the service runs as it is by default.
LOCAL_IPS=${LOCAL_IPS:-}
if [ -n "$LOCAL_IPS" ]; then
    start_turnstile
    SOURCES=(--local-ips "$LOCAL_IPS")
else
    SERVE_FLAGS="--max-connections 30000 --max-connections-per-client 30000" start_turnstile
    SOURCES=()
fi

for subscribers in $SUBSCRIBERS; do
    for run in $(seq "$RUNS"); do
        json="$WORK/fanout-$subscribers-$run.json"
        python3 - "$json" "$SERVER_PID" "$BIN" stress fanout --target "$URL" -c "$subscribers" --bids "$BIDS" \
            --interval "$INTERVAL" --json "$json" "${SOURCES[@]}" <<'PY'
import json, os, resource, subprocess, sys
path, server, command = sys.argv[1], sys.argv[2], sys.argv[3:]
tick = os.sysconf("SC_CLK_TCK")
def service():
    # utime and stime of the service, in seconds: fields 14 and 15 of /proc/PID/stat.
    fields = open(f"/proc/{server}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / tick, int(fields[12]) / tick
before = service()
done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
after = service()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
report = json.load(open(path))
feed = report["feeds"][0]
delivered = max(feed["delivered"], 1)
engine = usage.ru_utime + usage.ru_stime
user, system = after[0] - before[0], after[1] - before[1]
print(f"{feed['connected']} subscribers × {feed['events']} bids: exit {done.returncode}, delivered "
      f"{feed['delivered']} of {feed['expected']}, out of order {feed['outOfOrder']}; "
      f"engine CPU {engine:.2f} s = {engine / delivered * 1e6:.1f} µs per delivered message "
      f"({usage.ru_stime / max(engine, 1e-9) * 100:.0f}% in the kernel); service CPU {user + system:.2f} s = "
      f"{(user + system) / delivered * 1e6:.1f} µs per message ({system / max(user + system, 1e-9) * 100:.0f}% in "
      f"the kernel); note: {[n for n in report['notes'] if n.startswith('feed ')][0]}")
PY
    done
done
