#!/usr/bin/env bash
# Installs what building and testing egglogu-sync needs on Debian 12, and checks for Swift.
# Runs as root (CI) or through sudo. --tests adds what only the tests need (headless Chromium for the
# status page's browser test, nginx for the test of deploy/nginx/, nats-server for the clustered
# broker's test, bsdutils for script(1) in the progress test, and systemd-nspawn and debootstrap for
# deploy/test-systemd.sh).
set -euo pipefail

packages=(libsqlite3-dev sqlite3 pkg-config openssl libmosquitto-dev mosquitto mosquitto-clients python3 systemd dpkg-dev)
# Installed with --no-install-recommends, in a call of their own: systemd-container recommends
# libnss-mymachines, whose postinst adds "mymachines" to this machine's /etc/nsswitch.conf.
no_recommends=()
if [ "${1:-}" = "--tests" ]; then
  packages+=(chromium nginx nats-server postgresql bsdutils)
  no_recommends+=(systemd-container debootstrap)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
missing_no_recommends=()
for p in "${no_recommends[@]}"; do
  installed "$p" || missing_no_recommends+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] || [ "${#missing_no_recommends[@]}" -gt 0 ]; then
  as_root apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
if [ "${#missing_no_recommends[@]}" -gt 0 ]; then
  echo "installing (without recommends): ${missing_no_recommends[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_no_recommends[@]}"
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  echo "note: add /opt/swift/usr/bin to PATH" >&2
fi
if ! command -v swift >/dev/null 2>&1 && ! [ -x /opt/swift/usr/bin/swift ]; then
  echo "Swift 6.x is required: install it from https://swift.org/install and put it on PATH" >&2
  exit 69
fi
