#!/usr/bin/env bash
# The C side of libfilter, end to end:
#   1. `make install` into a temporary prefix; check the soname, the links,
#      the header and `pkg-config --cflags --libs libfilter`;
#   2. build bindings/c (tests and examples) with
#      `cc -Wall -Wextra -Werror -std=c99` through pkg-config, shared and
#      static;
#   3. run them natively, under valgrind (no leaks, no invalid accesses),
#      and built again with -fsanitize=address,undefined;
#   4. the threaded corpus test: 8 threads scan ../shared/corpus/spamassassin
#      while the engine is reloaded 100 times, natively and under ASan
#      (whose leak checker runs at exit).
# Exits non-zero on any failure. Installs valgrind, pkg-config, gcc, make
# and binutils with apt-get when missing (CI runs as root).
#
# Environment: CORPUS (default ../shared/corpus/spamassassin), THREADS (8),
# RELOADS (100), CORPUS_MAX (all messages), ASAN_CORPUS_MAX (300) and
# ASAN_RELOADS (10): the threaded test under ASan, CARGO_TARGET_DIR
# (honoured by the Makefile), KEEP=1 keeps the temporary directory.
#
# Timing: the threaded test runs until its reloads are done, and a reload
# (compiling the default rules) competes with 8 scanning threads for the
# cores. On a quiet 2-core machine expect a few minutes natively; under
# ASan each reload is several times slower, hence fewer by default
# (ASAN_RELOADS=100 took 42 minutes on a loaded 2-core machine).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
corpus=${CORPUS:-$root/../shared/corpus/spamassassin}
threads=${THREADS:-8}
reloads=${RELOADS:-100}
corpus_max=${CORPUS_MAX:-}
asan_max=${ASAN_CORPUS_MAX:-300}
asan_reloads=${ASAN_RELOADS:-10}

step() { echo; echo "=== c-tests: $*"; }

step "tools"
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cc --version | head -n 1
valgrind --version
echo "pkg-config $(pkg-config --version)"

work=$(mktemp -d)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
prefix=$work/prefix

step "make install PREFIX=$prefix"
make --no-print-directory install PREFIX="$prefix"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then abi=0.$minor; else abi=$major; fi
soname=$(readelf -d "$prefix/lib/libfilter.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "soname: $soname"
[ "$soname" = "libfilter.so.$abi" ] || { echo "FAIL: soname $soname, want libfilter.so.$abi"; exit 1; }
[ "$(readlink "$prefix/lib/libfilter.so.$abi")" = "libfilter.so.$version" ] || { echo "FAIL: soname link"; exit 1; }
[ "$(readlink "$prefix/lib/libfilter.so")" = "libfilter.so.$abi" ] || { echo "FAIL: dev link"; exit 1; }
[ -f "$prefix/lib/libfilter.a" ] && [ -f "$prefix/include/libfilter.h" ] || { echo "FAIL: files"; exit 1; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion libfilter)" = "$version" ] || { echo "FAIL: pkg-config version"; exit 1; }
echo "pkg-config --cflags --libs libfilter: $(pkg-config --cflags --libs libfilter)"
# Every exported symbol carries the prefix.
bad=$(nm -D --defined-only "$prefix/lib/libfilter.so" | awk '$2 == "T" {print $3}' | grep -v '^lf_' || true)
[ -z "$bad" ] || { echo "FAIL: exported symbols without the lf_ prefix:"; echo "$bad"; exit 1; }
echo "exported: $(nm -D --defined-only "$prefix/lib/libfilter.so" | awk '$2 == "T"' | wc -l) lf_ functions"

warn=(-Wall -Wextra -Werror -std=c99 -g)
read -r -a pc_cflags <<<"$(pkg-config --cflags libfilter)"
read -r -a pc_libs <<<"$(pkg-config --libs libfilter)"
read -r -a pc_static <<<"$(pkg-config --static --libs-only-l libfilter | sed 's/-lfilter//')"
rpath=(-Wl,-rpath,"$prefix/lib")
src=$root/bindings/c
progs=(tests/test_api tests/test_threads examples/scan_file examples/threads examples/reload)

# build OUT_DIR EXTRA_FLAGS...
build() {
    local out=$1; shift
    mkdir -p "$out"
    for p in "${progs[@]}"; do
        cc "${warn[@]}" "$@" "${pc_cflags[@]}" -pthread -o "$out/$(basename "$p")" "$src/$p.c" \
            "${pc_libs[@]}" "${rpath[@]}"
    done
}

step "build (shared, static, sanitizers)"
build "$work/bin"
build "$work/asan" -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The static library, with pkg-config's Libs.private.
cc "${warn[@]}" "${pc_cflags[@]}" -o "$work/bin/test_api_static" "$src/tests/test_api.c" \
    -L"$prefix/lib" -Wl,-Bstatic -lfilter -Wl,-Bdynamic "${pc_static[@]}"
if ldd "$work/bin/test_api_static" | grep -q libfilter; then
    echo "FAIL: test_api_static links libfilter dynamically"; exit 1
fi
echo "built: ${progs[*]} (+ static test_api, + ASan/UBSan builds)"

# Inputs: an EICAR file (from pieces) and a few corpus messages.
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$' 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$work/eicar.com"
if [ ! -f "$corpus/labels.tsv" ]; then
    echo "FAIL: no corpus at $corpus"; exit 1
fi
few=()
while IFS=$'\t' read -r _ path; do
    few+=("$corpus/${path%#1}")
done < <(awk -F'\t' 'NR % 1500 == 1' "$corpus/labels.tsv")

failed=()
# run NAME EXPECTED_STATUS COMMAND...
run() {
    local name=$1 want=$2; shift 2
    local t0 rc=0
    t0=$(date +%s)
    "$@" >"$work/$name.log" 2>&1 || rc=$?
    if [ "$rc" = "$want" ]; then
        echo "ok   $name ($(( $(date +%s) - t0 ))s): $(tail -n 1 "$work/$name.log")"
    else
        echo "FAIL $name (exit $rc, want $want)"
        tail -n 40 "$work/$name.log"
        failed+=("$name")
    fi
}

step "native"
run native-test_api 0 "$work/bin/test_api"
run native-test_api_static 0 "$work/bin/test_api_static"
run native-scan_file-eicar 1 "$work/bin/scan_file" "$work/eicar.com"
grep -q 'detection Win.Test.EICAR_HDB-1' "$work/native-scan_file-eicar.log" || { echo "FAIL: EICAR not named"; failed+=(scan_file-name); }
run native-scan_file-corpus 1 "$work/bin/scan_file" "${few[@]}"
run native-threads 0 "$work/bin/threads" 4 "$work/eicar.com" "${few[@]}"
run native-reload 0 "$work/bin/reload" 10 "${few[0]}"
run native-test_threads 0 "$work/bin/test_threads" "$corpus" "$threads" "$reloads" $corpus_max
echo "     $(head -n 1 "$work/native-test_threads.log")"

step "valgrind"
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-origins=yes -q)
run valgrind-test_api 0 "${vg[@]}" "$work/bin/test_api"
run valgrind-scan_file 1 "${vg[@]}" "$work/bin/scan_file" "$work/eicar.com" "${few[@]:0:2}"
run valgrind-threads 0 "${vg[@]}" "$work/bin/threads" 2 "$work/eicar.com" "${few[0]}"
run valgrind-reload 0 "${vg[@]}" "$work/bin/reload" 1 "${few[0]}"

step "ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run asan-test_api 0 "$work/asan/test_api"
run asan-scan_file 1 "$work/asan/scan_file" "$work/eicar.com" "${few[@]}"
run asan-threads 0 "$work/asan/threads" 4 "$work/eicar.com" "${few[@]}"
run asan-reload 0 "$work/asan/reload" 10 "${few[0]}"
# Under ASan: ASAN_RELOADS reloads over the first ASAN_CORPUS_MAX messages
# (the whole corpus and 100 reloads are covered natively above); ASan's
# leak checker runs at exit.
run asan-test_threads 0 "$work/asan/test_threads" "$corpus" "$threads" "$asan_reloads" "$asan_max"

step "done"
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
echo "all C tests passed"
