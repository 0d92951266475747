#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole Check test suite on the default
# OpenCL device (PoCL on a machine without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
