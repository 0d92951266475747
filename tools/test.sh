#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole Check test suite on the default
# OpenCL device (PoCL on a machine without a GPU; FMCL_TEST_DEVICE=N picks device N), twice:
# with the default providers, then with CLBlast forced (FMCL_GEMM=clblast), the path every
# GPU takes: CLBlast's products, the thin-layer kernels and the two-pass bias gradients.
# With --rusticl, once more on a second OpenCL implementation, Mesa's rusticl on llvmpipe
# (the clang -> SPIR-V -> NIR compiler of Mesa's GPU drivers, with smaller per-kernel limits
# than PoCL's), with CLBlast as on a GPU; a machine without rusticl skips that pass, saying
# so. (Not yet in CI: the end-to-end run of every config exceeds the 900 s a suite may take
# on that slow device.)
#   tools/test.sh             Release build in build/
#   tools/test.sh --sanitize  also AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/
#   tools/test.sh --rusticl   also the pass on Mesa's rusticl (either order, or both)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0 rusticl_pass=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    --rusticl) rusticl_pass=1 ;;
    *) echo "test: unknown option $arg (--sanitize, --rusticl)" >&2; exit 2 ;;
  esac
done
tools/setup.sh --tests
suite() {
  echo "== $1: default providers"
  ctest --test-dir "$1" --output-on-failure -j"$(nproc)"
  echo "== $1: CLBlast forced (FMCL_GEMM=clblast)"
  FMCL_GEMM=clblast ctest --test-dir "$1" --output-on-failure -j"$(nproc)"
}
suite build
if [ "$sanitize" = 1 ]; then
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DFMCL_SANITIZE=ON
  cmake --build build-sanitize -j"$(nproc)"
  # Mesa's OpenCL drivers leak a little when the loader opens them (not fmcl's memory, and
  # some of it from modules unloaded before the leak check can name them): the sanitizer
  # passes load PoCL alone.
  pocl_only=$(mktemp -d)
  ln -s /etc/OpenCL/vendors/pocl.icd "$pocl_only/"
  export OCL_ICD_VENDORS="$pocl_only"
  suite build-sanitize
  unset OCL_ICD_VENDORS
fi

# Mesa's rusticl: its device index among all of them when RUSTICL_ENABLE=llvmpipe shows it.
rusticl=$(RUSTICL_ENABLE=llvmpipe build/fmcl devices 2>/dev/null |
          awk '/platform rusticl\)/ {print $1; exit}' || true)
if [ "$rusticl_pass" = 0 ]; then
  :
elif [ -n "$rusticl" ]; then
  echo "== build: Mesa's rusticl (llvmpipe, device $rusticl), CLBlast forced"
  RUSTICL_ENABLE=llvmpipe FMCL_TEST_DEVICE="$rusticl" FMCL_GEMM=clblast \
    ctest --test-dir build --output-on-failure -j"$(nproc)"
else
  echo "== build: Mesa's rusticl: skipped (no rusticl device; apt-get install mesa-opencl-icd)"
fi
