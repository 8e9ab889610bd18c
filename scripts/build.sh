#!/usr/bin/env bash
# Configures and builds Switchyard with CMake + Ninja (ccache on).
#   scripts/build.sh [Debug|Release|RelWithDebInfo] [--sanitize] [--target NAME]...
# Build dir: build/ (build-asan/ with --sanitize, ASan + UBSan); BUILD_DIR=... overrides it.
# --target builds only NAME (and what it needs), e.g. `switchyard`; default: everything.
# JOBS=... overrides the parallelism (default: every core).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_type=RelWithDebInfo
sanitize=OFF
targets=()
while (($#)); do
  case "$1" in
    Debug | Release | RelWithDebInfo | MinSizeRel) build_type=$1 ;;
    --sanitize) sanitize=ON ;;
    --target)
      [[ -n ${2:-} ]] || { echo "build.sh: --target needs a target name" >&2; exit 2; }
      targets+=("$2")
      shift
      ;;
    --target=*) targets+=("${1#--target=}") ;;
    -h | --help)
      sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build.sh: unknown argument '$1' (want Debug|Release|RelWithDebInfo, --sanitize," \
        "--target NAME)" >&2
      exit 2
      ;;
  esac
  shift
done

if [[ -z "${BUILD_DIR:-}" ]]; then
  if [[ $sanitize == ON ]]; then BUILD_DIR=$root/build-asan; else BUILD_DIR=$root/build; fi
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# ccache hashes the paths under the checkout relative to it and not the working directory, so a
# second checkout of the same sources (CI's fresh clone, a worktree) reuses the objects of the
# first instead of compiling everything again (about 25 minutes on 2 cores).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}

echo "build.sh: $build_type, sanitize=$sanitize, in $BUILD_DIR${targets[*]:+, target ${targets[*]}}"
cmake -S "$root" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DSWITCHYARD_SANITIZE="$sanitize" \
  "${launcher[@]}"
ninja -C "$BUILD_DIR" -j"${JOBS:-$(nproc)}" "${targets[@]}"
