#!/usr/bin/env bash
# Instructions per run of the benches' onex workloads, counted by callgrind: stable on a
# loaded machine, where wall-clock times are not. Each workload runs under valgrind once:
# a warm-up run, then RUNS runs between the start of the instrumentation and a dump of the
# counts (on every thread); the dump divided by RUNS is one run's cost.
#
#   scripts/callgrind.sh                       # every workload, RUNS=5
#   RUNS=10 scripts/callgrind.sh chain_on      # some of them
#
# Workloads: see benches/callgrind.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-5}"
workloads=("$@")
if [ ${#workloads[@]} -eq 0 ]; then
  workloads=(chain_on chain_off fanout_parallel_on fanout_parallel_off fanout_batch_on
    fanout_batch_off batch_on batch_off)
fi

binary=$(cargo bench -p onex-benches --features callgrind --bench callgrind --no-run \
  --message-format=json 2>/dev/null \
  | grep '"name":"callgrind"' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
if [ -z "$binary" ]; then
  echo "could not build the callgrind bench target" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The counts of the runs: the first dump (the binary asks for it after the runs).
measured() {
  rm -f "$scratch"/out*
  RAYON_NUM_THREADS=2 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$scratch/out" \
    "$binary" "$1" "$2" >/dev/null 2>"$scratch/log"
  sed -n 's/^summary: //p; s/^totals: //p' "$scratch/out.1" | head -1
}

printf '%-22s %16s\n' workload "Ir per run"
for w in "${workloads[@]}"; do
  printf '%-22s %16d\n' "$w" $(( $(measured "$w" "$runs") / runs ))
done
