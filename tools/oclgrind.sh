#!/usr/bin/env bash
# Runs the kernel-level suites on oclgrind, a simulated OpenCL device that checks every
# memory access of every work-item (out-of-bounds reads and writes are errors), API misuse
# (--check-api) and data races (--data-races). Any report fails the run.
# --uninitialized is not used: oclgrind 21.10 reports false positives inside builtins such
# as sqrt and in CLBlast's own kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v oclgrind >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends oclgrind
fi
[ -x build/tests/unit_kernels ] || tools/setup.sh
oclgrind build/fmcl devices
status=0
for suite in kernels rng solver gemm mlp auction; do
  log="build/oclgrind-$suite.log"
  if ! CK_FORK=no oclgrind --check-api --data-races --max-errors 20 "build/tests/unit_$suite" >"$log" 2>&1; then
    status=1
  fi
  # oclgrind prints its findings on stderr but does not change the exit status.
  if grep -qE "^(Invalid|Uninitialized|Read-write|Write-write|Oclgrind - OpenCL runtime error|Work-group divergence)" "$log"; then
    status=1
  fi
  echo "oclgrind: $suite: $(tail -n 1 "$log")"
  grep -E -A6 "^(Invalid|Read-write|Write-write|Oclgrind - OpenCL runtime error)" "$log" | head -40 || true
done
exit $status
