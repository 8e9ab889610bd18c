#!/usr/bin/env bash
# Installs what is missing, checks that the install step covers what the tests use
# (scripts/check-deps.sh), builds (RelWithDebInfo unless told otherwise), runs every test and
# prints ctest's summary. Exit status: ctest's.
#   scripts/test.sh [Debug|Release|RelWithDebInfo] [--sanitize] [-- extra ctest args]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_args=()
ctest_args=()
while (($#)); do
  case "$1" in
    --) shift; ctest_args=("$@"); break ;;
    *) build_args+=("$1"); shift ;;
  esac
done
# build.sh's default build type is RelWithDebInfo; its build dir is the one ctest must read.
build_dir=$root/build
for arg in "${build_args[@]}"; do [[ $arg != --sanitize ]] || build_dir=$root/build-asan; done
export BUILD_DIR=${BUILD_DIR:-$build_dir}
build_dir=$BUILD_DIR

"$root/scripts/install-deps.sh"
# Before the build, so that a command or module the tests use but the install step does not
# install fails here, by name, rather than as a few mysterious test failures on a fresh machine.
"$root/scripts/check-deps.sh"
"$root/scripts/build.sh" "${build_args[@]}"

# ctest prints "100% tests passed, 0 tests failed out of N" and the list of failures; keep its
# status rather than the pipeline's so the caller (CI) sees it.
status=0
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 600 "${ctest_args[@]}" || status=$?
if ((status != 0)); then
  echo "test.sh: ctest failed with status $status" >&2
fi
exit "$status"
