#!/usr/bin/env bash
# Kernel launches per training step and per evaluation of the model in sampling, as the
# OpenCL driver sees them, CLBlast's own kernels included: every clEnqueueNDRangeKernel of
# a run is counted by a preloaded wrapper, and the launches of S training steps (S Euler
# steps of sampling, one evaluation each) are the difference between a run of N + S and
# one of N. Works with any fmcl binary (an older one too), so two versions can be compared.
#   tools/launch_counts.sh [FMCL_BINARY [--set KEY=VALUE]...]
# Prints one line per provider (fmcl, clblast).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-build/fmcl}"
shift || true
work="$(mktemp -d /tmp/fmcl-launches.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cat >"$work/count.c" <<'EOF'
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static long launches;
typedef cl_int (*enqueue_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *,
                             const size_t *, const size_t *, cl_uint, const cl_event *,
                             cl_event *);

CL_API_ENTRY cl_int CL_API_CALL clEnqueueNDRangeKernel(
    cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset, const size_t *global,
    const size_t *local, cl_uint n_wait, const cl_event *wait, cl_event *event) {
  static enqueue_fn real;
  if (!real) real = (enqueue_fn)dlsym(RTLD_NEXT, "clEnqueueNDRangeKernel");
  launches++;
  return real(q, k, dims, offset, global, local, n_wait, wait, event);
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("FMCL_LAUNCH_COUNT");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (f) {
    fprintf(f, "%ld\n", launches);
    fclose(f);
  }
}
EOF
cc -shared -fPIC -O2 -o "$work/count.so" "$work/count.c" -ldl

# Launches of one training run of the given steps.
count() {
  local gemm="$1" steps="$2"
  shift 2
  FMCL_LAUNCH_COUNT="$work/n" LD_PRELOAD="$work/count.so" "$binary" train \
    --set train.steps="$steps" --set train.log_every=100000 --set sample.n=10 \
    --set eval.likelihood=false --set eval.metrics=false --set output.plots=false \
    --set device.gemm="$gemm" --set output.dir="$work/run-$gemm-$steps" --quiet "$@" >/dev/null
  cat "$work/n"
}

# Launches of sampling 1000 points (one batch) from a run's model with Euler steps.
sample() {
  local gemm="$1" model="$2" steps="$3"
  FMCL_LAUNCH_COUNT="$work/n" LD_PRELOAD="$work/count.so" "$binary" sample \
    --checkpoint "$model" --set sample.n=1000 --set sample.solver=euler \
    --set sample.steps="$steps" --set device.gemm="$gemm" \
    --out "$work/samples-$gemm-$steps.csv" >/dev/null 2>&1
  cat "$work/n"
}

base=20 extra=100
for gemm in fmcl clblast; do
  short=$(count "$gemm" "$base" "$@")
  long=$(count "$gemm" $((base + extra)) "$@")
  model="$work/run-$gemm-$base/model.fmck"
  s_short=$(sample "$gemm" "$model" "$base")
  s_long=$(sample "$gemm" "$model" $((base + extra)))
  awk -v a="$short" -v b="$long" -v c="$s_short" -v d="$s_long" -v s="$extra" -v g="$gemm" \
    'BEGIN { printf "%s: %.2f kernel launches per training step, %.2f per evaluation in sampling\n",
             g, (b - a) / s, (d - c) / s }'
done
