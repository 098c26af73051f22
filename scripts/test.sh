#!/usr/bin/env bash
# Builds lif and runs the whole test suite, as CI does:
#   1. gcc, Release, -Werror: build everything (benchmarks too), run ctest;
#   2. gcc, ASan + UBSan: run ctest again;
#   3. clang, -Werror: build everything (warning-free with both compilers;
#      libgomp as OpenMP, so the onednn backend is built);
#   3b. clang + LLVM's OpenMP, ThreadSanitizer: the threaded tests, with
#      libarcher.so so TSan understands OpenMP's synchronisation (without
#      the onednn backend: libdnnl brings libgomp, see CMakeLists.txt);
#   3c. clang + libFuzzer (ASan + UBSan): every harness of tests/fuzz for
#      a short run from its committed seed corpus;
#   4. install to a temporary prefix, run the installed lif without
#      LD_LIBRARY_PATH, and build a program against liblif through
#      pkg-config and through CMake's find_package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
step() { printf '\n== %s\n' "$*"; }

step "gcc Release -Werror: build and test"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DLIF_WERROR=ON >/dev/null
cmake --build build-ci -j"$jobs"
ctest --test-dir build-ci --output-on-failure -j"$jobs"

step "gcc ASan+UBSan: build and test"
cmake -S . -B build-ci-asan -DCMAKE_BUILD_TYPE=Debug -DLIF_SANITIZE=ON -DLIF_WERROR=ON \
  -DLIF_BUILD_BENCH=OFF >/dev/null
cmake --build build-ci-asan -j"$jobs"
# (the benchmark smoke test runs in the Release step; benchmarks are not
# built here)
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-ci-asan --output-on-failure -j"$jobs" -E '^test_bench$'


step "clang -Werror: build"
# with gcc's libgomp as its OpenMP runtime, the one Debian's libdnnl uses,
# so that the onednn backend is built (and checked for warnings) here too
CC=clang CXX=clang++ cmake -S . -B build-ci-clang -DCMAKE_BUILD_TYPE=Release -DLIF_WERROR=ON \
  -DOpenMP_C_FLAGS=-fopenmp=libgomp -DOpenMP_C_LIB_NAMES=gomp \
  -DOpenMP_gomp_LIBRARY="$(gcc -print-file-name=libgomp.so)" >/dev/null
cmake --build build-ci-clang -j"$jobs"

step "clang ThreadSanitizer + LLVM OpenMP (archer): threaded tests"
CC=clang CXX=clang++ cmake -S . -B build-ci-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIF_SANITIZE_THREAD=ON -DLIF_WERROR=ON -DLIF_BUILD_BENCH=OFF >/dev/null
cmake --build build-ci-tsan -j"$jobs" --target test_openmp test_kernels
OMP_TOOL_LIBRARIES=/usr/lib/llvm-14/lib/libarcher.so \
  TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1" \
  ctest --test-dir build-ci-tsan --output-on-failure -R '^test_(openmp|kernels)$'

step "clang libFuzzer + ASan + UBSan: each harness for ${LIF_FUZZ_SECONDS:=15} s from its seeds"
CC=clang CXX=clang++ cmake -S . -B build-ci-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIF_FUZZ=ON \
  -DLIF_WERROR=ON -DLIF_BUILD_TESTS=OFF -DLIF_BUILD_BENCH=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
fuzzers=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
cmake --build build-ci-fuzz -j"$jobs" --target $fuzzers
fuzzwork=$(mktemp -d)
for f in $fuzzers; do
  corpus=tests/fuzz/corpus/${f#fuzz_}
  mkdir -p "$fuzzwork/$f"
  # new inputs go to the scratch folder; the committed seeds are only read
  if ! TMPDIR="$fuzzwork" build-ci-fuzz/tests/fuzz/$f -max_total_time="$LIF_FUZZ_SECONDS" \
      -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$fuzzwork/$f-" \
      "$fuzzwork/$f" "$corpus" \
      > "$fuzzwork/$f.log" 2>&1; then
    tail -n 60 "$fuzzwork/$f.log"
    echo "$f failed: the input that did it is kept in $fuzzwork (named in the log above)"
    exit 1
  fi
  printf '%-12s %s, %s\n' "$f" "$(grep -o 'cov: [0-9]*' "$fuzzwork/$f.log" | tail -n 1)" \
    "$(grep 'stat::number_of_executed_units' "$fuzzwork/$f.log" | sed 's/.*: //') runs"
done
rm -rf "$fuzzwork"

step "install, then link a program through pkg-config and find_package"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build-ci --prefix "$prefix" >/dev/null
# the installed command finds the installed liblif by itself (its run path)
env -u LD_LIBRARY_PATH "$prefix/bin/lif" info >/dev/null
cat > "$prefix/use_lif.c" <<'C'
#include <lif/lif.h>
#include <stdio.h>
int main(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    lif_net *net = NULL;
    if (lif_net_create(&r, 784, 10, &net) != LIF_OK) return 1;
    printf("lif %s: %d layer(s)\n", lif_version(), lif_net_layers(net));
    lif_net_destroy(net);
    return 0;
}
C
PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch)/pkgconfig" \
  sh -c 'cc "$0/use_lif.c" -o "$0/use_lif" $(pkg-config --cflags --libs lif)' "$prefix"
LD_LIBRARY_PATH="$prefix/lib:$prefix/lib/$(gcc -print-multiarch)" "$prefix/use_lif"
mkdir -p "$prefix/cm"
cat > "$prefix/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(use_lif C)
find_package(lif REQUIRED)
add_executable(use_lif ../use_lif.c)
target_link_libraries(use_lif PRIVATE lif::lif)
CM
cmake -S "$prefix/cm" -B "$prefix/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cm/build" >/dev/null
LD_LIBRARY_PATH="$prefix/lib:$prefix/lib/$(gcc -print-multiarch)" "$prefix/cm/build/use_lif"
step "all passed"
