#!/usr/bin/env bash
# Installs the Debian packages fmcl needs (only the missing ones; nothing when all are
# present) and builds fmcl in Release into build/. Safe to run again.
#   tools/setup.sh [EXP.json...]  also what those experiments need (a data set's package)
#   tools/setup.sh --tests        also what the test suite needs (Fashion-MNIST, Mesa's
#                                 rusticl as a second OpenCL implementation), and builds
#                                 the test programs
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
tests=0
for arg in "$@"; do
  if [ "$arg" = "--tests" ]; then
    tests=1
    packages+=(dataset-fashion-mnist mesa-opencl-icd)
  elif [ -f "$arg" ] && grep -q '"fashion-mnist"' "$arg"; then
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
  # The package manager's output goes to a log, shown only when it fails.
  log=$(mktemp /tmp/fmcl-setup.XXXXXX.log)
  if ! { $sudo apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
           "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: installing packages failed (the log above is in $log)" >&2
    exit 1
  fi
  echo "setup: installed ${#missing[@]} package(s) (log: $log)"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${FMCL_CMAKE_ARGS:-}
if [ "$tests" = 1 ]; then
  cmake --build build -j"$(nproc)"
else # the program alone: the tests are built by tools/test.sh
  cmake --build build -j"$(nproc)" --target fmcl
fi
