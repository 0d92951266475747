#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole Check test suite on the default
# OpenCL device (PoCL on a machine without a GPU; FMCL_TEST_DEVICE=N picks device N), twice:
# with the default providers, then with CLBlast forced (FMCL_GEMM=clblast), the path every
# GPU takes: CLBlast's products, the thin-layer kernels and the two-pass bias gradients.
# Then once more on a second OpenCL implementation, Mesa's rusticl on llvmpipe (the
# clang -> SPIR-V -> NIR compiler of Mesa's GPU drivers, with smaller per-kernel limits than
# PoCL's), with CLBlast as on a GPU; a machine without rusticl skips that pass, saying so.
#   tools/test.sh             Release build in build/
#   tools/test.sh --sanitize  also AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --tests
suite() {
  echo "== $1: default providers"
  ctest --test-dir "$1" --output-on-failure -j"$(nproc)"
  echo "== $1: CLBlast forced (FMCL_GEMM=clblast)"
  FMCL_GEMM=clblast ctest --test-dir "$1" --output-on-failure -j"$(nproc)"
}
suite build
if [ "${1:-}" = "--sanitize" ]; then
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
# llvmpipe runs fmcl's kernels and CLBlast's tens of times slower than PoCL, so a suite
# gets longer there before it counts as hung (the end-to-end run of every config: ~15 min).
rusticl=$(RUSTICL_ENABLE=llvmpipe build/fmcl devices 2>/dev/null |
          awk '/platform rusticl\)/ {print $1; exit}' || true)
if [ -n "$rusticl" ]; then
  echo "== build: Mesa's rusticl (llvmpipe, device $rusticl), CLBlast forced"
  RUSTICL_ENABLE=llvmpipe FMCL_TEST_DEVICE="$rusticl" FMCL_GEMM=clblast \
    ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 2400
else
  echo "== build: Mesa's rusticl: skipped (no rusticl device; apt-get install mesa-opencl-icd)"
fi
