#!/usr/bin/env bash
# Fuzzes the parsers of user input (configs and --set overrides, checkpoints, safetensors
# model files, CSV, NPY, NPZ and IDX data files, gzipped or not) with libFuzzer
# under AddressSanitizer and UndefinedBehaviorSanitizer, for a bounded time per target.
# Inputs that crash are copied into tests/fuzz/<target>/ so tests/unit/test_fuzz_corpus.c
# replays them from then on.
#   tools/fuzz.sh [SECONDS per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

missing=()
for p in clang-14 libclang-rt-14-dev libcjson-dev libcsv-dev libzip-dev zlib1g-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

out=build-fuzz
mkdir -p "$out"
sources=(src/config.c src/checkpoint.c src/data.c src/datafile.c src/idx.c src/rng.c src/fileio.c src/status.c src/types.c
         src/flat.c src/safetensors.c
         tests/fuzz/targets.c tests/fuzz/libfuzzer.c)
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -DFMCL_VERSION=\"fuzz\" -DFMCL_HAVE_LIBZIP=1 -g -O1
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -Isrc -Itests)
status=0
for target in config checkpoint datafile safetensors; do
  clang-14 "${flags[@]}" -DFUZZ_TARGET="fuzz_$target" "${sources[@]}" -lcjson -lcsv -lzip -lz -lm \
    -o "$out/fuzz_$target"
  rm -rf "$out/crashes-$target"
  mkdir -p "$out/corpus-$target" "$out/crashes-$target"
  echo "fuzz: $target for $seconds s"
  if ! "$out/fuzz_$target" "$out/corpus-$target" "tests/fuzz/$target" \
      -max_total_time="$seconds" -artifact_prefix="$out/crashes-$target/" \
      -print_final_stats=1 >"$out/fuzz_$target.log" 2>&1; then
    status=1
  fi
  tail -n 12 "$out/fuzz_$target.log"
  for crash in "$out/crashes-$target"/*; do
    [ -e "$crash" ] || continue
    name="crash-$(sha1sum "$crash" | cut -c1-12)"
    cp "$crash" "tests/fuzz/$target/$name"
    echo "fuzz: $target: new failing input saved as tests/fuzz/$target/$name"
    status=1
  done
done
exit $status
