#!/usr/bin/env bash
# Installs the Debian 12 packages Switchyard needs to build, test, demo and benchmark.
# Idempotent: dpkg-query finds what is missing first, so a second run is fast and offline.
#   scripts/install-deps.sh          installs what is missing (as root)
#   scripts/install-deps.sh --list   prints the package names, one a line, and installs nothing
#                                    (scripts/check-deps.sh reads them)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  libboost-dev libboost-system-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libzookeeper-mt-dev libnghttp2-dev libssl-dev libgtest-dev libgmock-dev
  libbenchmark-dev libgoogle-perftools-dev
  # a real ZooKeeper for the integration tests and the demo (Java 17 from the JRE package)
  zookeeper default-jre-headless
  # clients, load tools and peers for the tests, the demo and the benchmarks
  curl wrk nghttp2-client haproxy nginx-light python3 procps
  # Python modules the test clients import (Debian's /usr/bin/python3, not the one first on PATH)
  python3-hpack
  # the deploy-churn benchmark's Synapse stand-in (bench/lib/churn_synapse.py) watches ZooKeeper
  python3-kazoo
  # used by name in tests and benchmarks but reached only through other packages' dependencies
  # (openssl: the test CA; iproute2: ss), or not at all (git: a benchmark's commit label; strace:
  # a benchmark's SYSCALLS=1 counts)
  openssl iproute2 git strace
  # sd_notify, for the Type=notify systemd unit
  libsystemd-dev
  # the Debian package (scripts/package.sh) and its test (tests/package/): dpkg-shlibdeps and
  # dpkg-buildflags, file (CPack looks for ELF files with it), lintian, systemd-analyze, adduser
  # (the postinst runs it), logrotate (a real rotation of the snippet)
  dpkg-dev file lintian systemd adduser logrotate
)

case "${1:-}" in
  "") ;;
  --list) printf '%s\n' "${packages[@]}"; exit 0 ;;
  *) echo "install-deps: unknown argument '$1' (want --list, or nothing)" >&2; exit 2 ;;
esac

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  # "ii " = installed; anything else (absent, half-installed, config-files only) is missing.
  [[ "$status" == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if ((EUID != 0)); then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root:" >&2
  echo "  apt-get update && ${cmd[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's haproxy and nginx packages start their system service on install (port 80 and a
# default config): the tests and benchmarks start their own, so forbid service starts meanwhile.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update
"${cmd[@]}"
