#!/usr/bin/env bash
# The Python binding (bindings/python) end to end:
#   1. `make install` libfilter into a temporary prefix;
#   2. a virtual environment in the temporary directory, and
#      `pip install ./bindings/python pytest mypy` into it (the package as a
#      user installs it, not the source tree);
#   3. pytest on bindings/python/tests against the installed library
#      (LIBFILTER_LIBRARY), with the header drift checks
#      (LIBFILTER_HEADER=include/libfilter.h) and the threaded corpus test
#      (CORPUS, default ../shared/corpus/spamassassin);
#   4. mypy --strict on the installed package (MYPY=0 skips it).
# Exits non-zero on any failure. Installs python3-venv with apt-get when
# the venv module is missing (CI runs as root on Debian).
#
# Environment: PYTHON (default python3), CORPUS, CORPUS_MAX (messages for
# the threaded test, 200), MYPY (1), CARGO_TARGET_DIR (honoured by the
# Makefile), KEEP=1 keeps the temporary directory, PYTEST_ARGS (extra
# pytest arguments, e.g. "-x -k session").
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
corpus=${CORPUS:-$root/../shared/corpus/spamassassin}
t0=$(date +%s)

step() { echo; echo "=== python-tests: $* ($(( $(date +%s) - t0 ))s)"; }

step "python"
command -v "$python" >/dev/null 2>&1 || { echo "FAIL: no $python"; exit 1; }
"$python" --version
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "installing: python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv
fi

work=$(mktemp -d)
pkg=$root/bindings/python
# pip builds the package in place (build/, src/*.egg-info): remove what
# this run made (they are gitignored in any case).
made=()
for d in "$pkg/build" "$pkg/src/libfilter.egg-info"; do [ -e "$d" ] || made+=("$d"); done
cleanup() {
    for d in "${made[@]}"; do rm -rf "$d"; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
prefix=$work/prefix

step "make install PREFIX=$prefix"
make --no-print-directory install PREFIX="$prefix"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then abi=0.$minor; else abi=$major; fi
lib=$prefix/lib/libfilter.so.$abi
[ -e "$lib" ] || { echo "FAIL: no $lib"; exit 1; }

step "venv and pip install ./bindings/python"
"$python" -m venv "$work/venv"
venv_py=$work/venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
tools=(pytest)
[ "${MYPY:-1}" = 0 ] || tools+=(mypy)
"$venv_py" -m pip install -q ./bindings/python "${tools[@]}"
# The tests must import the installed package, not the source tree.
installed=$(cd "$work" && "$venv_py" -c 'import libfilter; print(libfilter.__file__)')
echo "installed: $installed"
case $installed in "$work/venv/"*) ;; *) echo "FAIL: libfilter imported from $installed"; exit 1 ;; esac

step "pytest"
if [ ! -f "$corpus/labels.tsv" ]; then
    echo "FAIL: no corpus at $corpus"; exit 1
fi
export LIBFILTER_LIBRARY=$lib
export LIBFILTER_HEADER=$root/include/libfilter.h
export CORPUS=$corpus
export PYTHONDONTWRITEBYTECODE=1
read -r -a extra <<<"${PYTEST_ARGS:-}"
(cd "$pkg" && "$venv_py" -m pytest -p no:cacheprovider -ra -v tests ${extra[@]+"${extra[@]}"})

if [ "${MYPY:-1}" != 0 ]; then
    step "mypy --strict"
    (cd "$work" && "$venv_py" -m mypy --strict --cache-dir "$work/mypy-cache" -p libfilter)
    (cd "$pkg" && "$venv_py" -m mypy --strict --cache-dir "$work/mypy-cache" tests)
fi

step "done"
echo "all Python tests passed"
