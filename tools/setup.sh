#!/usr/bin/env bash
# Installs the Debian packages fmcl needs (only the missing ones; nothing when all are
# present) and builds fmcl in Release into build/. Safe to run again.
#   tools/setup.sh [EXP.json...]  also what those experiments need (a data set's package)
#   tools/setup.sh --tests        also what the test suite reads (Fashion-MNIST)
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
# Data sets come as packages too, installed only when an experiment (or the tests) reads one.
for arg in "$@"; do
  if [ "$arg" = "--tests" ] || { [ -f "$arg" ] && grep -q '"fashion-mnist"' "$arg"; }; then
    packages+=(dataset-fashion-mnist)
  elif [ ! -f "$arg" ]; then
    echo "setup: $arg: no such experiment config (usage: tools/setup.sh [EXP.json...] [--tests])" >&2
    exit 2
  fi
done
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
