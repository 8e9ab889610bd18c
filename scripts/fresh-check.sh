#!/usr/bin/env bash
# Proves the README's two commands on a bare Debian 12 machine: builds a fresh root with
# mmdebstrap (Essential packages and apt only, from this machine's apt sources), copies the
# committed checkout into it (`git archive HEAD`: what a clone gets, no build dirs, nothing
# uncommitted), and runs inside it (chroot, as root):
#   1. scripts/test.sh  -- installs what is missing, builds, runs every test; its summary is printed
#   2. scripts/demo.sh  -- in a network namespace of its own (its ports are fixed), until the
#      gateway answers on 127.0.0.1:8080 from web-1..3 and /ready is 200; then Ctrl-C (SIGINT)
# printing the wall time of each step (and of the install, build and test phases of test.sh).
#   scripts/fresh-check.sh [--install-only] [--keep]
#   scripts/fresh-check.sh --list        the packages it installs on this machine for itself
# --install-only: step 1 is scripts/install-deps.sh then scripts/check-deps.sh, and no demo (the
# mechanics in minutes rather than the whole suite). --keep: leave the root in place.
# Every step is bounded (STEP_TIMEOUT_S, default 3600 s; the demo's build and start 2400 s) and
# the root's mounts are undone and its processes stopped on any exit. JOBS=N is passed on.
# Exit status: 0 when every step passed.
# shellcheck disable=SC2317  # the cleanup and step functions are called through trap and run_step
set -euo pipefail

# What this script itself needs on the host (scripts/check-deps.sh accepts them for it).
own_packages=(mmdebstrap git iproute2 mount)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
install_only=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --list) printf '%s\n' "${own_packages[@]}"; exit 0 ;;
    --install-only) install_only=1 ;;
    --keep) keep=1 ;;
    -h | --help)
      sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "fresh-check: unknown argument '$arg' (want --install-only, --keep, --list)" >&2; exit 2 ;;
  esac
done
step_timeout=${STEP_TIMEOUT_S:-3600}
demo_timeout=${DEMO_TIMEOUT_S:-2400}

if ((EUID != 0)); then
  echo "fresh-check: run as root (mmdebstrap --mode=root, mount, chroot)" >&2
  exit 2
fi
missing=()
for pkg in "${own_packages[@]}"; do
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true) == ii* ]] ||
    missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "fresh-check: installing ${missing[*]} for itself"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

work=$(mktemp -d /var/tmp/switchyard-fresh.XXXXXX)
fs=$work/root
src=/root/switchyard  # the checkout inside the root
mounted=()

# Processes whose root directory is the fresh root: only ours can be in there.
inside_pids() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$fs" ]] && echo "${p#/proc/}"
  done
  return 0
}

cleanup() {
  local status=$? i pids
  pids=$(inside_pids)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    sleep 2
    pids=$(inside_pids)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
    sleep 1
  fi
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  # Never delete through a mount that is still there (/dev/pts is the host's own).
  if grep -q " $fs/" /proc/mounts; then
    echo "fresh-check: mounts left under $fs; not removing it" >&2
  elif ((keep)); then
    echo "fresh-check: kept $fs"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -a step_names step_secs step_results
run_step() {  # run_step NAME COMMAND...: timed; the result is recorded, never fatal
  local name=$1 t0=$SECONDS status=0
  shift
  echo
  echo "fresh-check: == $name"
  "$@" || status=$?
  step_names+=("$name")
  step_secs+=($((SECONDS - t0)))
  step_results+=("$([[ $status == 0 ]] && echo ok || echo "failed ($status)")")
  echo "fresh-check: == $name: $((SECONDS - t0)) s, ${step_results[-1]}"
  return "$status"
}

summary() {
  local i
  echo
  echo "fresh-check: summary ($(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  for i in "${!step_names[@]}"; do
    printf '  %-34s %6d s  %s\n' "${step_names[i]}" "${step_secs[i]}" "${step_results[i]}"
  done
}

# The host's own apt sources, so the root is made from the mirror this machine uses.
sources=()
[[ -s /etc/apt/sources.list ]] && grep -q '^deb ' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [[ -f $f ]] && sources+=("$f")
done
make_root() {
  timeout -k 30 600 mmdebstrap --variant=apt --mode=root bookworm "$fs" "${sources[@]}" || return
  echo "fresh-check: root size $(du -sh "$fs" | cut -f1)"
}

copy_checkout() {
  mkdir -p "$fs$src" || return
  git -C "$root" archive --format=tar HEAD | tar -x -C "$fs$src" || return
  echo "fresh-check: $(git -C "$root" log -1 --format='%h %s') -> $src"
  # Debian's installer writes /etc/hosts on every machine; a bootstrapped root may lack it, and
  # then "localhost" would not resolve there as it does on any real machine.
  [[ -e $fs/etc/hosts ]] ||
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$fs/etc/hosts"
  # Java and the tests need /proc, /sys (read-only), ptys and POSIX shared memory.
  mount -t proc proc "$fs/proc" || return
  mounted+=("$fs/proc")
  mount -t sysfs -o ro sysfs "$fs/sys" || return
  mounted+=("$fs/sys")
  mkdir -p "$fs/dev/pts" "$fs/dev/shm" || return
  mount --bind /dev/pts "$fs/dev/pts" || return
  mounted+=("$fs/dev/pts")
  mount -t tmpfs -o mode=1777 tmpfs "$fs/dev/shm" || return
  mounted+=("$fs/dev/shm")
}

# in_root TEXT: sets `in_root` to the argv that runs shell TEXT in the checkout inside the root,
# with a login-like environment: nothing of this machine's PATH or Python leaks in.
in_root() {
  in_root=(chroot "$fs" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  [[ -z ${JOBS:-} ]] || in_root+=("JOBS=$JOBS")
  in_root+=(/bin/bash -c "cd $src && $1")
}

# Each line of output with the seconds since the step started.
stamped() {
  local t0=$SECONDS line
  while IFS= read -r line; do printf '[%5d s] %s\n' $((SECONDS - t0)) "$line"; done
}

run_tests() {
  local log=$work/test.log
  in_root scripts/test.sh
  # The status goes through a file: the pipeline's own is the last filter's.
  { timeout -k 30 "$step_timeout" "${in_root[@]}"; echo $? >"$work/status"; } 2>&1 | stamped |
    tee "$log" | grep -E '^\[ *[0-9]+ s\] (install-deps|build.sh|check-deps|test.sh|Test project)' || true
  echo "fresh-check: phases of scripts/test.sh (seconds from its start, first line of each):"
  grep -m1 -E '\] install-deps:' "$log" | sed 's/^/  install /' || true
  grep -m1 -E '\] check-deps:' "$log" | sed 's/^/  check   /' || true
  grep -m1 -E '\] build.sh:' "$log" | sed 's/^/  build   /' || true
  grep -m1 -E '\] Test project' "$log" | sed 's/^/  tests   /' || true
  echo "fresh-check: ctest's summary:"
  grep -A60 -E 'tests passed, [0-9]+ tests? failed' "$log" | sed 's/^/  /' || echo "  (none: see $log)"
  return "$(cat "$work/status")"
}

run_install_only() {
  in_root 'scripts/install-deps.sh && scripts/check-deps.sh'
  { timeout -k 30 "$step_timeout" "${in_root[@]}"; echo $? >"$work/status"; } 2>&1 | stamped |
    tail -n 15
  return "$(cat "$work/status")"
}

# The demo runs until Ctrl-C: in its own network namespace (its ports are fixed and this
# machine's may be taken), a driver inside the root waits for the gateway, asks it a few
# things, then sends SIGINT as Ctrl-C would and expects a clean stop.
run_demo() {
  cat >"$fs/root/demo-driver.sh" <<'DRIVER'
#!/bin/bash
set -uo pipefail
cd /root/switchyard
scripts/demo.sh >/root/demo.log 2>&1 &
demo=$!
deadline=$((SECONDS + ${DEMO_TIMEOUT_S:-2400}))
until curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:9901/ready 2>/dev/null; do
  if ! kill -0 "$demo" 2>/dev/null || ((SECONDS > deadline)); then
    echo "demo did not come up; its log:"
    tail -n 30 /root/demo.log
    kill -INT "$demo" 2>/dev/null
    wait "$demo"
    exit 1
  fi
  sleep 1
done
echo "demo serving after ${SECONDS} s (its build included)"
seen=""
for _ in 1 2 3 4 5 6; do seen+="$(curl -fsS --max-time 5 http://127.0.0.1:8080/) "; done
echo "GET / x6: $seen"
echo "GET /api/x: $(curl -fsS --max-time 5 http://127.0.0.1:8080/api/x)"
status=0
for name in web-1 web-2 web-3; do
  [[ $seen == *"$name"* ]] || { echo "no answer from $name"; status=1; }
done
kill -INT "$demo"
wait "$demo"
code=$?
echo "demo.sh exited $code after SIGINT"
[[ $code == 130 || $code == 0 ]] || status=1
exit "$status"
DRIVER
  chmod +x "$fs/root/demo-driver.sh" || return
  in_root "DEMO_TIMEOUT_S=$demo_timeout /root/demo-driver.sh"
  timeout -k 30 "$((demo_timeout + 120))" \
    unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh "${in_root[@]}"
}

overall=0
run_step "mmdebstrap (bare bookworm root)" make_root || exit 1
run_step "copy the checkout, mount" copy_checkout || exit 1
if ((install_only)); then
  run_step "install-deps.sh + check-deps.sh" run_install_only || overall=1
else
  run_step "scripts/test.sh" run_tests || overall=1
  run_step "scripts/demo.sh" run_demo || overall=1
fi
summary
exit "$overall"
