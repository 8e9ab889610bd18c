#!/usr/bin/env bash
# The Debian package, end to end, on this machine (as root; it installs and purges the package):
#   tests/package/package_test.sh [PATH.deb]    (without a path: scripts/package.sh builds one)
# Checks the contents and control data, lintian (no error or warning left unoverridden), the units
# with systemd-analyze verify, dpkg -i, the installed `switchyard check` on the default file (also
# as the switchyard user), a logrotate run of the snippet, sd_notify with the packaged binary
# (tests/package/notify_test.py), then dpkg -r and dpkg -P. Exits non-zero at the first failure.
# Not in ctest: building the Release binary takes many minutes on 2 cores, and it changes the
# machine's package database. The quick part, notify_test.py, is in ctest (label `package`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() {
  echo "package_test: FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# dpkg's status of the package: the second letter of db:Status-Abbrev (i installed, c config
# files only, n not installed, others half-done), n when dpkg has no entry at all.
pkg_status() {
  local s
  s=$(dpkg-query -W -f='${db:Status-Abbrev}' switchyard 2>/dev/null || true)
  echo "${s:1:1}" | sed 's/^$/n/'
}

((EUID == 0)) || fail "run as root (dpkg -i, dpkg -P)"
if [[ $(pkg_status) != n ]]; then
  fail "switchyard is already installed here; dpkg -P switchyard first (the test purges it)"
fi
user_existed=no
getent passwd switchyard >/dev/null && user_existed=yes

deb=${1:-}
if [[ -z "$deb" ]]; then
  step "scripts/package.sh"
  deb=$("$root/scripts/package.sh" | tail -n 1)
fi
[[ -f "$deb" ]] || fail "no package at '$deb'"
echo "package: $deb"
case "$(basename "$deb")" in
  switchyard_*_amd64.deb) ;;
  *) fail "file name $(basename "$deb") is not switchyard_VERSION_amd64.deb" ;;
esac

cleanup() {
  # Whatever failed, leave the machine as it was: no package, no user the test created.
  if [[ $(pkg_status) != n ]]; then
    dpkg -P switchyard >/dev/null 2>&1 || true
  fi
  if [[ $user_existed == no ]] && getent passwd switchyard >/dev/null; then
    deluser --system --quiet switchyard >/dev/null 2>&1 || true
    delgroup --system --quiet switchyard >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "dpkg-deb -I"
info=$(dpkg-deb -I "$deb")
echo "$info"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == switchyard ]] || fail "Package is not switchyard"
[[ $(field Architecture) == amd64 ]] || fail "Architecture is not amd64"
field Depends | grep -q 'adduser' || fail "Depends lacks adduser (the postinst runs it)"
field Depends | grep -q 'libsystemd0' || fail "Depends lacks libsystemd0 (shlibdeps did not run?)"
field Depends | grep -q 'libzookeeper-mt' || fail "Depends lacks the ZooKeeper client library"
for script in postinst prerm postrm conffiles md5sums; do
  grep -qw "$script" <<<"$info" || fail "control archive lacks $script"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
for f in /etc/switchyard/switchyard.yaml /etc/logrotate.d/switchyard; do
  grep -qx "$f" <<<"$conffiles" || fail "$f is not a conffile"
done

step "dpkg-deb -c"
contents=$(dpkg-deb -c "$deb")
echo "$contents"
for path in ./usr/bin/switchyard ./etc/switchyard/switchyard.yaml ./etc/switchyard/announce/ \
  ./etc/logrotate.d/switchyard ./lib/systemd/system/switchyard.service \
  ./lib/systemd/system/switchyard-announce@.service ./usr/share/doc/switchyard/copyright \
  ./usr/share/doc/switchyard/changelog.gz ./usr/share/man/man1/switchyard.1.gz \
  ./usr/share/doc/switchyard/examples/announce.conf.example; do
  awk '{print $6}' <<<"$contents" | grep -qx -- "$path" || fail "$path is not in the package"
done
grep -E ' \./usr/bin/switchyard$' <<<"$contents" | grep -q '^-rwxr-xr-x root/root' ||
  fail "/usr/bin/switchyard is not root-owned 0755"
if awk '{print $2}' <<<"$contents" | grep -vqx 'root/root'; then
  fail "a file of the package is not owned by root"
fi

step "lintian"
# Errors and warnings fail. None is overridden today; one that must be would go, with a comment
# saying why, into packaging/debian/lintian-overrides (installed as
# /usr/share/lintian/overrides/switchyard). Info tags are printed too, for the record.
lintian --fail-on error,warning --display-info --show-overrides "$deb" ||
  fail "lintian reported errors or warnings"
echo "lintian: no error or warning left"

step "dpkg -i"
dpkg -i "$deb" || fail "dpkg -i failed"
[[ $(pkg_status) == i ]] || fail "not installed (status $(pkg_status))"
getent passwd switchyard | grep -q ':/nonexistent:/usr/sbin/nologin$' ||
  fail "no switchyard system user with no home and no shell: $(getent passwd switchyard || true)"
getent group switchyard >/dev/null || fail "no switchyard group"
[[ -L /etc/systemd/system/multi-user.target.wants/switchyard.service ]] ||
  fail "switchyard.service was not enabled by the postinst"

step "systemd-analyze verify"
# Checks both units as systemd would load them (directives, the binary they run); it needs no
# running systemd. A template is verified through an instance.
verify_dir=$(mktemp -d)
cp /lib/systemd/system/switchyard-announce@.service "$verify_dir/"
ln -s switchyard-announce@.service "$verify_dir/switchyard-announce@example.service"
if ! out=$(systemd-analyze verify /lib/systemd/system/switchyard.service \
  "$verify_dir/switchyard-announce@example.service" 2>&1); then
  echo "$out"
  rm -rf "$verify_dir"
  fail "systemd-analyze verify failed"
fi
rm -rf "$verify_dir"
# verify exits 0 on some complaints and only prints them: a unit of ours named in one fails too.
echo "${out:-systemd-analyze verify: no output}"
if grep -E 'switchyard(-announce@[a-z]*)?\.service' <<<"$out"; then
  fail "systemd-analyze verify complained about our units"
fi
echo "systemd-analyze verify: both units accepted"

step "installed switchyard check"
/usr/bin/switchyard --version
/usr/bin/switchyard check --config /etc/switchyard/switchyard.yaml || fail "check of the default file"
# The unit runs as switchyard: it must be able to read its configuration.
runuser -u switchyard -- /usr/bin/switchyard check --config /etc/switchyard/switchyard.yaml ||
  fail "check of the default file as the switchyard user"

step "logrotate"
# A real rotation of an access log the gateway would hold open: copytruncate keeps the file (the
# same inode, emptied) and the copy has the lines; run as the snippet's `su switchyard`.
install -d -o switchyard -g switchyard -m 0750 /var/log/switchyard
log=/var/log/switchyard/access.log
printf 'line 1\nline 2\n' >"$log"
chown switchyard:switchyard "$log"
inode=$(stat -c %i "$log")
state=$(mktemp)
lr=$(logrotate -v -f -s "$state" /etc/logrotate.d/switchyard 2>&1) || { echo "$lr"; fail "logrotate"; }
rm -f "$state"
echo "$lr" | grep -E 'rotating|copying|truncating|error' || true
if grep -qi '^error' <<<"$lr"; then fail "logrotate reported an error"; fi
[[ $(stat -c %i "$log") == "$inode" && ! -s "$log" ]] || fail "$log was not truncated in place"
[[ $(cat "$log.1") == $'line 1\nline 2' ]] || fail "$log.1 does not hold the rotated lines"
[[ $(stat -c %U "$log.1") == switchyard ]] || fail "$log.1 is not owned by switchyard"

step "sd_notify with the packaged binary"
/usr/bin/python3 "$root/tests/package/notify_test.py" /usr/bin/switchyard || fail "notify_test.py"

step "dpkg -r"
dpkg -r switchyard || fail "dpkg -r failed"
[[ ! -e /usr/bin/switchyard ]] || fail "/usr/bin/switchyard is still there after dpkg -r"
[[ ! -e /lib/systemd/system/switchyard.service ]] || fail "the unit is still there after dpkg -r"
[[ ! -e /lib/systemd/system/switchyard-announce@.service ]] || fail "the template is still there"
[[ -f /etc/switchyard/switchyard.yaml ]] || fail "dpkg -r removed the conffile (only a purge may)"
[[ $(pkg_status) == c ]] || fail "not in state config-files after dpkg -r ($(pkg_status))"
getent passwd switchyard >/dev/null || fail "dpkg -r removed the switchyard user"

step "dpkg -P"
dpkg -P switchyard || fail "dpkg -P failed"
for f in /etc/switchyard/switchyard.yaml /etc/logrotate.d/switchyard /var/log/switchyard \
  /etc/systemd/system/multi-user.target.wants/switchyard.service; do
  [[ ! -e "$f" && ! -L "$f" ]] || fail "$f is still there after dpkg -P"
done
[[ $(pkg_status) == n ]] || fail "dpkg still has the package after the purge ($(pkg_status))"
getent passwd switchyard >/dev/null || fail "the purge removed the switchyard user (it must stay)"

echo "package_test: all passed ($deb)"
