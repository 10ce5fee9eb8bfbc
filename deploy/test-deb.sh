#!/usr/bin/env bash
# Installs, upgrades, removes and purges the egglogu-agent and egglogu-sync-server packages with
# dpkg on this machine, checking what the maintainer scripts promise at each step. Prints a PASS
# line per check and stops at the first failure (exit 1). Needs root: exits 77 (skip) otherwise.
#
# It changes the real system: /usr/bin, /lib/systemd/system, /etc/egglogu-agent,
# /etc/egglogu-sync-server, /var/lib/egglogu-agent, /var/lib/egglogu-sync-server and the
# egglogu-agent and egglogu-sync system users. Packages left installed by an earlier run are purged
# first; the packages are purged on exit, failure included, and the system users are deleted if
# this run created them. It refuses to run while those directories exist without the packages.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKGS=(egglogu-agent egglogu-sync-server)
USERS=(egglogu-agent egglogu-sync)
DIRS=(/etc/egglogu-agent /var/lib/egglogu-agent /etc/egglogu-sync-server /var/lib/egglogu-sync-server)

usage() {
  cat <<EOF
Usage: deploy/test-deb.sh [--from DIR]

Builds both packages with deploy/build-deb.sh (twice: the VERSION file's version and a higher
one), then as root: installs them with dpkg -i, upgrades, removes (dpkg -r) and purges (dpkg -P),
checking users, directories, modes, secrets, units and that upgrades and removal keep the
configuration and the replica.

  --from DIR   package the prebuilt DIR/egglogu-agent and DIR/egglogu-sync-server
               (default: build-deb.sh builds them in release mode)
EOF
}

FROM=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from)
      if [ $# -lt 2 ] || [ -z "$2" ]; then echo "test-deb.sh: --from needs a directory" >&2; exit 2; fi
      FROM=(--from "$(cd "$2" && pwd)"); shift 2 ;;
    --from=*) FROM=(--from "$(cd "${1#--from=}" && pwd)"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test-deb.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "test-deb.sh: skipped: must run as root (it installs packages with dpkg)" >&2
  exit 77
fi
if ! command -v dpkg >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "test-deb.sh: skipped: not a dpkg system" >&2
  exit 77
fi

# shellcheck source=deploy/test-lib.sh
. "$REPO/deploy/test-lib.sh"
RUN_SHOWS_COMMAND=1

pkg_status() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed; }
owner_mode() { stat -c '%U:%G %a' "$1" 2>/dev/null || echo missing; }
is() { [ "$(owner_mode "$1")" = "$2" ]; }
# Content hash, owner and mode of a file: what upgrades and removal must keep.
fingerprint() { echo "$( (sha256sum < "$1" | cut -d' ' -f1) 2>/dev/null || echo gone) $(owner_mode "$1")"; }
quietly() { "$@" >/dev/null 2>&1; }
no_conffiles() { ! dpkg-deb --ctrl-tarfile "$1" | tar -t | grep -x '\./conffiles' >/dev/null; }
purge_all() {
  local p
  for p in "${PKGS[@]}"; do
    if [ "$(pkg_status "$p")" != not-installed ]; then dpkg -P "$p" || true; fi
  done
}

# --- A clean start ---------------------------------------------------------------------------

for p in "${PKGS[@]}"; do
  if [ "$(pkg_status "$p")" != not-installed ]; then
    echo "test-deb.sh: $p is $(pkg_status "$p") (an earlier run?): purging it first" >&2
    dpkg -P "$p" >&2 || { echo "test-deb.sh: error: dpkg -P $p failed" >&2; exit 1; }
  fi
done
for d in "${DIRS[@]}"; do
  if [ -e "$d" ]; then
    echo "test-deb.sh: error: $d exists but no package owns it; this test would delete it." >&2
    echo "test-deb.sh: move it away (or delete it) and run again." >&2
    exit 1
  fi
done
CREATED_USERS=()
for u in "${USERS[@]}"; do
  getent passwd "$u" >/dev/null || CREATED_USERS+=("$u")
done
if [ -d /run/systemd/system ]; then
  echo "test-deb.sh: note: systemd is running: the maintainer scripts will start and stop the services" >&2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/egglogu-test-deb.XXXXXX")"
cleanup() {
  local rc=$? u
  trap - EXIT
  purge_all > "$WORK/cleanup.log" 2>&1 || true
  for u in "${CREATED_USERS[@]}"; do
    if getent passwd "$u" >/dev/null; then userdel "$u" >> "$WORK/cleanup.log" 2>&1 || true; fi
    if getent group "$u" >/dev/null; then groupdel "$u" >> "$WORK/cleanup.log" 2>&1 || true; fi
  done
  rm -rf "$WORK"
  if [ "$rc" = 0 ]; then echo "test-deb.sh: all checks passed"; else echo "test-deb.sh: FAILED (exit $rc)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- (a) Build ---------------------------------------------------------------------------------

VERSION="$(tr -d ' \t\r\n' < "$REPO/VERSION")"
NEXT="$VERSION+debtest1"
run "build $VERSION" "$REPO/deploy/build-deb.sh" "${FROM[@]}" --out "$WORK/v1"
run "build $NEXT (the upgrade)" "$REPO/deploy/build-deb.sh" "${FROM[@]}" --out "$WORK/v2" --version "$NEXT"
V1=("$WORK/v1/egglogu-agent_${VERSION}_"*.deb "$WORK/v1/egglogu-sync-server_${VERSION}_"*.deb)
V2=("$WORK/v2/egglogu-agent_${NEXT}_"*.deb "$WORK/v2/egglogu-sync-server_${NEXT}_"*.deb)
for deb in "${V1[@]}" "${V2[@]}"; do
  check "built $(basename "$deb") ($(du -h "$deb" | cut -f1))" test -s "$deb"
done
for deb in "${V1[@]}"; do
  check "$(basename "$deb") ships no conffiles (nothing in /etc)" test -z "$(dpkg-deb -c "$deb" | awk '$6 ~ /^\.\/etc\// { print $6 }')"
  check "$(basename "$deb") has no DEBIAN/conffiles" no_conffiles "$deb"
  echo "  $(dpkg-deb -f "$deb" Package) Depends: $(dpkg-deb -f "$deb" Depends)"
done

# --- (b) Install -------------------------------------------------------------------------------

run "dpkg -i $VERSION" dpkg -i "${V1[@]}"
for p in "${PKGS[@]}"; do
  check "$p is installed" test "$(pkg_status "$p")" = installed
done
for u in "${USERS[@]}"; do
  check "system user $u exists with shell /usr/sbin/nologin" \
    test "$(getent passwd "$u" | cut -d: -f7)" = /usr/sbin/nologin
  check "user $u is a system user (uid < 1000)" test "$(id -u "$u")" -lt 1000
  check "group $u exists" quietly getent group "$u"
done
check "/etc/egglogu-agent is root:egglogu-agent 0750" is /etc/egglogu-agent "root:egglogu-agent 750"
check "/etc/egglogu-agent/mqtt-password is an empty root:root 0600 file" \
  test "$(owner_mode /etc/egglogu-agent/mqtt-password) $(stat -c %s /etc/egglogu-agent/mqtt-password)" = "root:root 600 0"
check "/var/lib/egglogu-agent is egglogu-agent:egglogu-agent 0700" is /var/lib/egglogu-agent "egglogu-agent:egglogu-agent 700"
check "/etc/egglogu-sync-server is root:egglogu-sync 0750" is /etc/egglogu-sync-server "root:egglogu-sync 750"
check "/etc/egglogu-sync-server/jwt-secret is root:root 0600" is /etc/egglogu-sync-server/jwt-secret "root:root 600"
check "the jwt-secret holds at least 32 bytes" test "$(tr -d ' \t\r\n' < /etc/egglogu-sync-server/jwt-secret | wc -c)" -ge 32
check "/etc/egglogu-sync-server/mqtt-password is root:root 0600" is /etc/egglogu-sync-server/mqtt-password "root:root 600"
check "/etc/egglogu-sync-server/server.conf is root:egglogu-sync 0640" is /etc/egglogu-sync-server/server.conf "root:egglogu-sync 640"
check "/var/lib/egglogu-sync-server is egglogu-sync:egglogu-sync 0700" is /var/lib/egglogu-sync-server "egglogu-sync:egglogu-sync 700"
for p in "${PKGS[@]}"; do
  check "unit $p.service installed" test -f "/lib/systemd/system/$p.service"
  check "/usr/bin/$p --help runs" quietly "/usr/bin/$p" --help
  check "dpkg -V $p: files as packaged" test -z "$(dpkg -V "$p")"
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    check "$p.service enabled (multi-user.target.wants)" test -L "/etc/systemd/system/multi-user.target.wants/$p.service"
  fi
done
if command -v systemd-analyze >/dev/null 2>&1; then
  run "systemd-analyze verify of the installed units" \
    systemd-analyze verify /lib/systemd/system/egglogu-agent.service /lib/systemd/system/egglogu-sync-server.service
fi
run "egglogu-sync-server config check of the default server.conf" \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/egglogu-sync-server config check /etc/egglogu-sync-server/server.conf

# Provision a gateway with the installed server and install the result as INSTALL.txt says.
run "egglogu-sync-server provision (default config)" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  /usr/bin/egglogu-sync-server provision --farm farm-test --device gw-test --out "$WORK/bundle" --server-url http://127.0.0.1:8080
install -m 0640 -g egglogu-agent "$WORK/bundle/agent/agent.conf" /etc/egglogu-agent/agent.conf
install -m 0600 "$WORK/bundle/agent/token" /etc/egglogu-agent/token
run "egglogu-agent config check of the provisioned agent.conf" \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/egglogu-agent config check /etc/egglogu-agent/agent.conf

# --- (c) Upgrade -------------------------------------------------------------------------------

echo "# test-deb.sh marker $$" >> /etc/egglogu-agent/agent.conf
echo "# test-deb.sh marker $$" >> /etc/egglogu-sync-server/server.conf
printf 'SQLite format 3\0fake replica %s\n' "$$" > /var/lib/egglogu-agent/replica.sqlite
chown egglogu-agent:egglogu-agent /var/lib/egglogu-agent/replica.sqlite
KEPT=(/etc/egglogu-agent/agent.conf /etc/egglogu-agent/token /etc/egglogu-agent/mqtt-password
  /var/lib/egglogu-agent/replica.sqlite /etc/egglogu-sync-server/server.conf
  /etc/egglogu-sync-server/jwt-secret /etc/egglogu-sync-server/mqtt-password)
declare -A BEFORE=()
for f in "${KEPT[@]}"; do BEFORE[$f]="$(fingerprint "$f")"; done
kept() { # what
  local f
  for f in "${KEPT[@]}"; do
    check "$1 keeps $f (content, $(owner_mode "$f"))" test "$(fingerprint "$f")" = "${BEFORE[$f]}"
  done
}

run "dpkg -i $NEXT (upgrade)" dpkg -i "${V2[@]}"
for p in "${PKGS[@]}"; do
  check "$p upgraded to $NEXT" test "$(dpkg-query -W -f='${Version} ${db:Status-Status}' "$p")" = "$NEXT installed"
done
kept "the upgrade"
check "/etc/egglogu-agent still root:egglogu-agent 0750" is /etc/egglogu-agent "root:egglogu-agent 750"

# --- (d) Remove --------------------------------------------------------------------------------

run "dpkg -r" dpkg -r "${PKGS[@]}"
for p in "${PKGS[@]}"; do
  check "$p is removed, its configuration kept (dpkg: config-files)" test "$(pkg_status "$p")" = config-files
  check "/usr/bin/$p is gone" test ! -e "/usr/bin/$p"
  check "$p.service is gone" test ! -e "/lib/systemd/system/$p.service"
done
kept "dpkg -r"
for u in "${USERS[@]}"; do check "user $u kept after dpkg -r" quietly getent passwd "$u"; done

# --- (e) Purge ---------------------------------------------------------------------------------

run "dpkg -P" dpkg -P "${PKGS[@]}"
for p in "${PKGS[@]}"; do
  check "$p is purged" test "$(pkg_status "$p")" = not-installed
  check "$p.service enablement forgotten" test ! -e "/etc/systemd/system/multi-user.target.wants/$p.service" \
    -a ! -L "/etc/systemd/system/multi-user.target.wants/$p.service"
done
for d in "${DIRS[@]}"; do check "$d is gone" test ! -e "$d"; done
# The postrm keeps the system users (Debian policy); cleanup deletes them if this run made them.
for u in "${USERS[@]}"; do check "user $u kept after purge, as the postrm says" quietly getent passwd "$u"; done
