#!/usr/bin/env bash
# Heap profiles of the functions at a large size: builds them with the
# `profiling` profile (release code with line tables), runs the local stack
# on the simulated chain with each chosen function under heaptrack, asks for
# the current epoch and two finished ones (each a build from the chain),
# lets the warms and scheduled jobs run, then stops and prints each
# profile's peak heap and its largest peak consumers.
#
# Usage: scripts/heap-profile.sh [PARTICIPANTS] [FUNCTION ...]
#   default: 10000 participants; epoch-stats and scheduler.
# Needs heaptrack (Debian: `apt-get install heaptrack`). Output: target/heap-profile/.
set -euo pipefail

cd "$(dirname "$0")/.."
participants=${1:-10000}
shift || true
profiled=("${@:-epoch-stats scheduler}")
profiled=(${profiled[*]})
out=target/heap-profile
port=${API_PORT:-3999}
functions=(epoch-stats warmer participant scheduler network)

command -v heaptrack >/dev/null || { echo "heaptrack is not installed" >&2; exit 1; }
packages=(-p local-stack)
for f in "${functions[@]}"; do packages+=(-p "$f"); done
cargo build --profile profiling --locked "${packages[@]}" >&2
rm -rf "$out" && mkdir -p "$out/bin"
for f in "${functions[@]}"; do
  if [[ " ${profiled[*]} " == *" $f "* ]]; then
    printf '#!/bin/sh\nexec heaptrack -o %s/%s.$$ %s/target/profiling/%s "$@"\n' \
      "$PWD/$out" "$f" "$PWD" "$f" > "$out/bin/$f"
    chmod +x "$out/bin/$f"
  else
    ln -s "$PWD/target/profiling/$f" "$out/bin/$f"
  fi
done

SIM_PARTICIPANTS=$participants SIM_LATENCY_MS=0 API_PORT=$port LOCAL_STACK_BIN_DIR=$PWD/$out/bin \
  target/profiling/local-stack > "$out/stack.log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/v1/hello" && break
  sleep 2
done
current=$(curl -sf --compressed "http://127.0.0.1:$port/v1/inference/current" | python3 -c 'import json,sys; print(json.load(sys.stdin)["epoch_id"])')
for path in inference/current "inference/epochs/$((current - 1))" "inference/epochs/$((current - 2))"; do
  curl -s -o /dev/null -H 'accept-encoding: gzip' -w "$path %{http_code} %{time_total}s\n" \
    "http://127.0.0.1:$port/v1/$path"
done
sleep "${SETTLE_SECS:-90}"
kill -INT $stack; wait $stack || true
sleep 2

for f in "$out"/*.zst "$out"/*.gz; do
  [[ -e $f ]] || continue
  echo "== $f"
  heaptrack_print -f "$f" --print-peaks 1 --print-allocators 0 --print-temporary 0 \
    --print-leaks 0 --peak-limit 12 --sub-peak-limit 3 2>/dev/null > "$f.txt"
  grep -E "peak heap memory|peak RSS" "$f.txt" || true
  # Each peak consumer with its first frames in this workspace.
  awk '/consumed over/ {print; n=0; next} /at (shared|functions)\// && n<2 {print; n++}' "$f.txt" | head -60
done
