#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole Check test suite on the default
# OpenCL device (PoCL on a machine without a GPU).
#   tools/test.sh             Release build in build/
#   tools/test.sh --sanitize  also AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DFMCL_SANITIZE=ON
  cmake --build build-sanitize -j"$(nproc)"
  ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)"
fi
