#!/usr/bin/env bash
# The ot coupling's cost in the training step: steps/s of the moons recipe (batch 512) with
# independent pairs, with ot solved on the device (the auction, path.ot_solver device) and
# with ot solved on the host (Jonker-Volgenant), the three alternating --repeat times in
# one run; prints the medians and each ot step's time as a multiple of the independent one.
#   tools/ot_speed.sh [--steps N] [--repeat R] [--build DIR] [--config EXP.json]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build steps=400 repeat=3 config=configs/moons.json
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    *) echo "usage: tools/ot_speed.sh [--steps N] [--repeat R] [--build DIR] [--config EXP.json]" >&2
       exit 2 ;;
  esac
done
work="$(mktemp -d /tmp/fmcl-ot-speed.XXXXXX)"
trap 'rm -rf "$work"' EXIT
kinds=("independent" "ot device" "ot host")
declare -A rates
for r in $(seq "$repeat"); do
  for kind in "${kinds[@]}"; do
    set -- $kind
    args=(--set path.coupling="$1")
    [ $# -gt 1 ] && args+=(--set path.ot_solver="$2")
    dir="$work/${kind// /-}-$r"
    "$build/fmcl" train --config "$config" "${args[@]}" --set train.steps="$steps" \
      --set train.log_every=100 --set train.checkpoint_every=0 --set output.dir="$dir" --quiet
    rate=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["train"]["steps_per_s"])' "$dir/summary.json")
    rates[$kind]="${rates[$kind]:-} $rate"
    rm -rf "$dir"
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
base=$(echo "${rates[independent]}" | median)
echo "| coupling | steps/s (median of $repeat, $steps steps) | step time / independent |"
echo "|---|---|---|"
for kind in "${kinds[@]}"; do
  m=$(echo "${rates[$kind]}" | median)
  awk -v k="$kind" -v m="$m" -v b="$base" 'BEGIN {printf "| %s | %.1f | %.2f |\n", k, m, b / m}'
done
