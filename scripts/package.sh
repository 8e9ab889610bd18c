#!/usr/bin/env bash
# Builds the Debian package: a Release `switchyard` in its own build directory (only that target,
# so neither the tests' build/ nor the demo's is touched), then `cpack -G DEB`.
#   scripts/package.sh            -> prints the path of switchyard_VERSION_amd64.deb (last line)
# BUILD_DIR=... overrides build-package/; JOBS=... the parallelism (default: every core).
# What goes into the package: the install() rules in packaging/CMakeLists.txt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build-package}

for tool in cmake ninja cpack dpkg-shlibdeps dpkg-buildflags file; do
  if ! command -v "$tool" >/dev/null; then
    echo "package.sh: '$tool' is missing: run scripts/install-deps.sh (as root)" >&2
    exit 1
  fi
done

# Debian's hardening flags, as a debhelper build would pass them (lintian checks the binary for
# them): fortified libc calls, stack protector, read-only relocations bound at start.
cppflags=$(dpkg-buildflags --get CPPFLAGS)
ldflags=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

echo "package.sh: Release build in $build_dir" >&2
cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DSWITCHYARD_TESTS=OFF -DSWITCHYARD_BENCH=OFF \
  -DSWITCHYARD_PACKAGE=ON \
  -DCMAKE_INSTALL_PREFIX=/usr \
  "-DCMAKE_CXX_FLAGS=$cppflags -fstack-protector-strong" \
  "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" \
  "${launcher[@]}" >&2
ninja -C "$build_dir" -j"${JOBS:-$(nproc)}" switchyard >&2

# cpack runs the install rules into its own staging tree; the .deb lands in the build directory.
(cd "$build_dir" && cpack -G DEB) >&2
deb=$(ls -t "$build_dir"/switchyard_*_amd64.deb | head -1)
if [[ ! -f "$deb" ]]; then
  echo "package.sh: cpack produced no switchyard_*_amd64.deb in $build_dir" >&2
  exit 1
fi
echo "$deb"
