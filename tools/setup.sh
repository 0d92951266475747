#!/usr/bin/env bash
# Installs the Debian packages fmcl needs (only the missing ones; nothing when all are
# present) and builds fmcl in Release into build/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang-15: the tests compile every kernel program with clang's OpenCL front end (as ROCm,
# Intel's runtimes and Mesa do) to check it links without inlining. cairo draws the plots
# (their text in DejaVu Sans), zlib checksums files, libcsv reads CSV files, libpng reads
# plots back in the tests.
# Open MPI: training on several devices or machines (mpirun); libzip: NPZ data files. fmcl
# builds without either, and cmake says which.
packages=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
          libclblast-dev libcjson-dev check clinfo clang-15 libcairo2-dev fonts-dejavu-core
          zlib1g-dev libcsv-dev libpng-dev libopenmpi-dev openmpi-bin libzip-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${FMCL_CMAKE_ARGS:-}
cmake --build build -j"$(nproc)"
