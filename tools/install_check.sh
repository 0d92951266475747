#!/usr/bin/env bash
# libfmcl from another program: installs BUILD into a fresh prefix (cmake --install), then
# builds tools/example.c against it twice, through pkg-config with the shared library and
# as a CMake project with find_package(fmcl) and the static one, and runs both.
#   tools/install_check.sh BUILD_DIR [STEPS]
set -euo pipefail
build="$(cd "$1" && pwd)"
steps="${2:-100}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/fmcl-install.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
for f in bin/fmcl include/fmcl/fmcl.h; do
  [ -e "$work/prefix/$f" ] || { echo "install_check: $f was not installed" >&2; exit 1; }
done
flags=(-std=c11)
if grep -q '^FMCL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  flags+=(-fsanitize=address,undefined) # the library was built with them
fi
cc="$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")" # the build's compiler
cc="${cc:-cc}"

pc="$(find "$work/prefix" -name fmcl.pc -print -quit)"
[ -n "$pc" ] || { echo "install_check: no fmcl.pc was installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir="$(cd "$(pkg-config --variable=libdir fmcl)" && pwd -P)"
# shellcheck disable=SC2046 # pkg-config's flags are words
"$cc" "${flags[@]}" -Wall -Wextra -Werror "$root/tools/example.c" \
  $(pkg-config --cflags --libs fmcl) -o "$work/example-shared"
LD_LIBRARY_PATH="$libdir" ldd "$work/example-shared" >"$work/ldd.txt"
grep -q "$libdir/libfmcl.so" "$work/ldd.txt" ||
  { echo "install_check: the pkg-config build does not use the installed libfmcl.so" >&2; exit 1; }
LD_LIBRARY_PATH="$libdir" "$work/example-shared" "$steps" | tee "$work/shared.out"
grep -q "sampled 2000 points" "$work/shared.out"

mkdir "$work/app"
cp "$root/tools/example.c" "$work/app/"
cat >"$work/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(example C)
find_package(fmcl 0.1 REQUIRED)
add_executable(example example.c)
target_link_libraries(example PRIVATE fmcl::fmcl_static)
CMAKE
cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_C_COMPILER="$cc" >"$work/app.log" 2>&1 || { cat "$work/app.log"; exit 1; }
cmake --build "$work/app/build" >>"$work/app.log" 2>&1 || { cat "$work/app.log"; exit 1; }
"$work/app/build/example" "$steps" | tee "$work/static.out"
grep -q "sampled 2000 points" "$work/static.out"
echo "install_check: the installed library builds and runs tools/example.c (shared and static)"
