#!/usr/bin/env bash
# The check of a machine with GPUs and no network, run from a build carried there: lists
# the OpenCL devices; on each GPU, and on each device of another implementation than PoCL
# (Mesa's rusticl: RUSTICL_ENABLE=llvmpipe shows its CPU device, RUSTICL_ENABLE=radeonsi
# or iris its GPU drivers), runs the kernel, product, MLP, solver, likelihood and training
# suites with both providers (CLBlast, and fmcl's own kernels); trains the toy recipe and a
# 64-D recipe there and compares the loss curves with PoCL's; runs fmcl tune and fmcl bench
# --devices all; and writes one Markdown report. With none of those it checks PoCL alone,
# the same way.
#
#   tools/gpu_check.sh [--build DIR] [--out REPORT.md] [--quick] [--reference DIR]
#       [--make-reference DIR]
#
# --build DIR          the build folder (default build/): DIR/fmcl and DIR/tests/unit_*
# --out FILE           the report (default gpu_check.md)
# --quick              fewer suites and steps (the test suite runs it this way)
# --make-reference DIR train the two recipes on PoCL here and keep their loss curves in
#                      DIR, for a GPU machine that has no PoCL (carry DIR there)
# --reference DIR      compare with the curves in DIR when no PoCL device is present
#
# What the GPU machine needs besides the build: an OpenCL driver (for NVIDIA: the ICD of
# the driver, e.g. OCL_ICD_VENDORS pointing at a folder with nvidia.icd naming
# libnvidia-opencl.so.1), and the runtime libraries of Debian 12's ocl-icd-libopencl1,
# libclblast1, libcjson1 and libsubunit0 (the test suites), e.g. unpacked with dpkg -x
# into a folder on LD_LIBRARY_PATH. The exit status is 1 when any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build out=gpu_check.md quick=0 reference="" make_reference=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --reference) reference="$2"; shift 2 ;;
    --make-reference) make_reference="$2"; shift 2 ;;
    *) echo "gpu_check: unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
fmcl="$build/fmcl"
if [ ! -x "$fmcl" ]; then
  echo "gpu_check: no $fmcl; build first (tools/setup.sh) or pass --build DIR" >&2
  exit 2
fi
work="$(mktemp -d /tmp/fmcl-gpu-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failures=0

if [ "$quick" = 1 ]; then
  suites="kernels gemm"
  toy_steps=60 wide_steps=20 bench_steps=20
  tune_model="--set model.hidden=[32,32] --set train.batch=64 --set sample.n=64"
else
  suites="kernels gemm mlp solver dopri5 likelihood train"
  toy_steps=2000 wide_steps=300 bench_steps=200
  tune_model=""
fi
toy="--config configs/8gaussians.json --set train.log_every=20"
# The 64-D recipe: hidden [512, 512, 512] as tools/bench_torch.py's wide shape.
tools/wide64.sh "$work/wide.csv"
wide="--set data.path=$work/wide.csv --set model.hidden=[512,512,512] --set train.batch=512
      --set train.log_every=10 --set sample.n=1000"

# Trains a recipe: train RUN_NAME DEVICE_INDEX GEMM STEPS ARGS...; keeps train.csv and
# summary.json in $work/RUN_NAME.
train() {
  local name="$1" device="$2" gemm="$3" steps="$4"
  shift 4
  local dir="$work/$name"
  "$fmcl" train "$@" --set train.steps="$steps" --set device.index="$device" \
    --set device.gemm="$gemm" --set eval.likelihood=false --set output.plots=false \
    --set output.dir="$dir" --quiet >"$dir.log" 2>&1
}

# The largest relative difference between two loss curves (train.csv) over their common
# steps, or "-" when either is missing.
curve_diff() {
  if [ ! -f "$1" ] || [ ! -f "$2" ]; then echo "-"; return; fi
  awk -F, 'FNR == 1 { next } NR == FNR { ref[$1] = $2; next }
    ($1 in ref) { d = ($2 - ref[$1]) / (ref[$1] < 0 ? -ref[$1] : ref[$1]); if (d < 0) d = -d
      if (d > worst) worst = d; n++ }
    END { if (n) printf "%.2g", worst; else print "-" }' "$1" "$2"
}

# A number from summary.json ("key": value on its own line), printed with format $3.
summary_value() {
  awk -v key="\"$2\":" -v fmt="$3" '$1 == key { gsub(/,/, "", $2); printf fmt, $2; exit }' \
    "$1" 2>/dev/null
}

"$fmcl" devices >"$work/devices.txt" 2>&1
gpus=$(awk 'NR > 1 && substr($0, 75, 3) == "GPU" { print $1 }' "$work/devices.txt")
pocl=$(awk 'NR > 1 && /PoCL/ { print $1; exit }' "$work/devices.txt")
others=$(awk 'NR > 1 && substr($0, 75, 3) != "GPU" && !/PoCL/ { print $1 }' "$work/devices.txt")

if [ -n "$make_reference" ]; then
  [ -n "$pocl" ] || { echo "gpu_check: --make-reference needs a PoCL device" >&2; exit 2; }
  mkdir -p "$make_reference"
  # shellcheck disable=SC2086
  train ref-toy "$pocl" fmcl "$toy_steps" $toy && cp "$work/ref-toy/train.csv" "$make_reference/toy.csv"
  # shellcheck disable=SC2086
  train ref-wide "$pocl" fmcl "$wide_steps" $wide && cp "$work/ref-wide/train.csv" "$make_reference/wide.csv"
  echo "gpu_check: PoCL's loss curves are in $make_reference (toy.csv, wide.csv)"
  exit 0
fi

targets=$(echo $gpus $others)
if [ -z "$targets" ]; then targets="$pocl"; fi
if [ -z "$targets" ]; then
  echo "gpu_check: no OpenCL device found:" >&2
  cat "$work/devices.txt" >&2
  exit 1
fi

{
  echo "# fmcl GPU check"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n); $("$fmcl" --version 2>&1 | head -n 1)."
  if [ -z "$gpus" ] && [ -z "$others" ]; then
    echo
    echo "No GPU found: this report covers PoCL only."
  elif [ -z "$gpus" ]; then
    echo
    echo "No GPU found: this report covers device(s) $targets, of other implementations than PoCL."
  fi
  echo
  echo '```'
  cat "$work/devices.txt"
  echo '```'
  echo
  echo "## Test suites"
  echo
  echo "| device | provider | suite | result | seconds |"
  echo "| --- | --- | --- | --- | --- |"
} >"$out"

for d in $targets; do
  for gemm in clblast fmcl; do
    for suite in $suites; do
      start=$(date +%s)
      if FMCL_TEST_DEVICE="$d" FMCL_GEMM="$gemm" CK_FORK=no "$build/tests/unit_$suite" \
        >"$work/suite-$d-$gemm-$suite.log" 2>&1; then
        result=pass
      else
        result="**fail**: $(grep -m 1 -E ':[EF]:' "$work/suite-$d-$gemm-$suite.log" | cut -c1-160)"
        failures=$((failures + 1))
      fi
      echo "| $d | $gemm | $suite | $result | $(( $(date +%s) - start )) |" >>"$out"
    done
  done
done

{
  echo
  echo "## Training: loss curves against PoCL"
  echo
  echo "Same seed and recipe; the curves' largest relative difference over the logged steps."
  echo
  echo "| recipe | device | provider | steps | steps/s | final loss | PoCL final loss | largest difference |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >>"$out"
for recipe in toy wide; do
  if [ "$recipe" = toy ]; then args="$toy" steps="$toy_steps"; else args="$wide" steps="$wide_steps"; fi
  ref=""
  if [ -n "$pocl" ]; then
    # shellcheck disable=SC2086
    train "ref-$recipe" "$pocl" fmcl "$steps" $args && ref="$work/ref-$recipe/train.csv"
  elif [ -n "$reference" ]; then
    ref="$reference/$recipe.csv"
  fi
  ref_loss=$( [ -n "$ref" ] && [ -f "$ref" ] && tail -n 1 "$ref" | cut -d, -f2 || echo "-")
  for d in $targets; do
    for gemm in clblast fmcl; do
      # shellcheck disable=SC2086
      if train "$recipe-$d-$gemm" "$d" "$gemm" "$steps" $args; then
        s="$work/$recipe-$d-$gemm/summary.json"
        echo "| $recipe | $d | $gemm | $steps | $(summary_value "$s" steps_per_s %.1f) |" \
             "$(summary_value "$s" final_loss %.4f) | $ref_loss |" \
             "$(curve_diff "$ref" "$work/$recipe-$d-$gemm/train.csv") |" >>"$out"
      else
        failures=$((failures + 1))
        echo "| $recipe | $d | $gemm | $steps | **failed**: $(tail -n 1 "$work/$recipe-$d-$gemm.log" | cut -c1-160) | | | |" >>"$out"
      fi
    done
  done
done

for d in $targets; do
  {
    echo
    echo "## fmcl tune on device $d"
    echo
  } >>"$out"
  # shellcheck disable=SC2086
  if "$fmcl" tune $toy $tune_model --set device.index="$d" \
    --set device.tuning="$work/tuning-$d.json" --quiet >"$work/tune-$d.log" 2>&1; then
    grep '^|' "$work/tune-$d.log" >>"$out"
  else
    failures=$((failures + 1))
    echo "**failed**: $(tail -n 1 "$work/tune-$d.log")" >>"$out"
  fi
done

{
  echo
  echo "## fmcl bench --devices all"
  echo
} >>"$out"
# shellcheck disable=SC2086
if "$fmcl" bench $toy --devices all --steps "$bench_steps" --set output.dir="$work/bench" \
  --quiet >"$work/bench.log" 2>&1; then
  grep '^|' "$work/bench.log" >>"$out"
else
  failures=$((failures + 1))
  echo "**failed**: $(tail -n 1 "$work/bench.log")" >>"$out"
fi

{
  echo
  if [ "$failures" = 0 ]; then echo "Every check passed."; else echo "$failures checks failed."; fi
} >>"$out"
echo "gpu_check: wrote $out ($failures failed)"
[ "$failures" = 0 ]
