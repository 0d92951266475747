#!/usr/bin/env bash
# Data-parallel scaling on this machine: steps/s of 1 and 2 MPI ranks with each rank on one
# core (PoCL limited to one thread, mpirun binding each rank to a core), for the toy recipe
# and the 64-D recipe. Weak scaling keeps the rows per rank (global batch B on one rank,
# 2B on two); strong scaling keeps the global batch B. The weak runs sum the gradient both
# ways (train.allreduce whole: one MPI_Allreduce after the backward pass; layers: one
# MPI_Iallreduce per layer, overlapping it). Prints a Markdown table with the
# efficiencies and the share of a step spent summing the gradient (the allreduce and the
# copies to the host and back). Each figure is the median of --repeat runs, the three
# kinds alternating; the CPU time the hypervisor took from this machine while they ran
# (steal, /proc/stat) is printed with them, since a rank that loses its core holds up the
# others at every gradient sum.
#   tools/scaling.sh [--steps-toy N] [--steps-wide N] [--repeat R] [--build DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build steps_toy=1500 steps_wide=200 repeat=3
while [ $# -gt 0 ]; do
  case "$1" in
    --steps-toy) steps_toy="$2"; shift 2 ;;
    --steps-wide) steps_wide="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "usage: tools/scaling.sh [--steps-toy N] [--steps-wide N] [--repeat R] [--build DIR]" >&2
       exit 2 ;;
  esac
done
fmcl="$build/fmcl"
if ! "$fmcl" --version | grep -q '^MPI: Open MPI'; then
  echo "scaling: $fmcl was built without MPI (install libopenmpi-dev, run tools/setup.sh)" >&2
  exit 2
fi
[ "$(nproc)" -ge 2 ] || { echo "scaling: needs 2 cores" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 POCL_MAX_PTHREAD_COUNT=1
work="$(mktemp -d /tmp/fmcl-scaling.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tools/wide64.sh "$work/wide.csv"

# run NAME RANKS BATCH STEPS ARGS...: steps/s and allreduce ms per step from summary.json.
run() {
  local name="$1" ranks="$2" batch="$3" steps="$4"
  shift 4
  mpirun -np "$ranks" --bind-to core --map-by core "$fmcl" train "$@" \
    --set train.batch="$batch" --set train.steps="$steps" --set sample.n=0 \
    --set eval.likelihood=false --set output.plots=false --set output.dir="$work/$name" \
    --overwrite --quiet >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))["train"]
print(t["steps_per_s"], t.get("allreduce_ms_per_step", 0), t.get("gradient_copy_ms_per_step", 0))' "$work/$name/summary.json"
}

# The cumulative steal and total CPU time of this machine (jiffies).
cpu_times() { awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
read -r steal0 total0 < <(cpu_times)

echo "| recipe | batch per rank | 1 rank steps/s | 2 ranks, weak (2B) steps/s | weak efficiency | weak, per-layer Iallreduce steps/s | 2 ranks, strong (B) steps/s | strong efficiency | weak: MPI ms/step | weak: gradient copies ms/step | weak: share of the step |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for recipe in toy wide; do
  if [ "$recipe" = toy ]; then
    args=(--config configs/8gaussians.json) batch=512 steps="$steps_toy" label="toy (8gaussians, 256x3)"
  else
    args=(--set data.path="$work/wide.csv" --set model.hidden=[512,512,512]) batch=512
    steps="$steps_wide" label="64-D (512x3)"
  fi
  for ((i = 0; i < repeat; i++)); do
    run "$recipe-1" 1 "$batch" "$steps" "${args[@]}" >>"$work/$recipe-1.txt"
    run "$recipe-weak" 2 $((2 * batch)) "$steps" "${args[@]}" >>"$work/$recipe-weak.txt"
    run "$recipe-layers" 2 $((2 * batch)) "$steps" "${args[@]}" --set train.allreduce=layers \
      >>"$work/$recipe-layers.txt"
    run "$recipe-strong" 2 "$batch" "$steps" "${args[@]}" >>"$work/$recipe-strong.txt"
  done
  python3 -c 'import statistics, sys
label, batch, prefix = sys.argv[1:4]
def runs(kind):
    return [list(map(float, line.split())) for line in open(f"{prefix}-{kind}.txt")]
def median_run(kind):  # the run of median steps/s, with its own allreduce times
    rows = sorted(runs(kind))
    return rows[len(rows) // 2]
one, weak, strong = median_run("1"), median_run("weak"), median_run("strong")
layers = median_run("layers")
mpi, copy = weak[1], weak[2]
print(f"| {label} | {batch} | {one[0]:.1f} | {weak[0]:.1f} | {100 * weak[0] / one[0]:.0f}% | "
      f"{layers[0]:.1f} | "
      f"{strong[0]:.1f} | {100 * strong[0] / (2 * one[0]):.0f}% | {mpi:.2f} | {copy:.2f} | "
      f"{100 * (mpi + copy) * weak[0] / 1000:.0f}% |")' "$label" "$batch" "$work/$recipe"
done
read -r steal1 total1 < <(cpu_times)
echo
echo "Medians of $repeat runs each; the hypervisor took" \
  "$(awk -v s=$((steal1 - steal0)) -v t=$((total1 - total0)) 'BEGIN { printf "%.0f%%", 100 * s / t }')" \
  "of this machine's CPU time while they ran (steal)."
echo "Each rank on one core (POCL_MAX_PTHREAD_COUNT=1, mpirun --bind-to core); $(nproc) cores;" \
  "$("$fmcl" --version | grep '^MPI')."
