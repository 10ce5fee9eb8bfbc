#!/usr/bin/env bash
# Installs what building and testing egglogu-sync needs on Debian 12, and checks for Swift.
# Runs as root (CI) or through sudo. --tests adds what only the tests need (headless Chromium for the
# status page's browser test, and nginx for the test of deploy/nginx/).
set -euo pipefail

packages=(libsqlite3-dev sqlite3 pkg-config openssl libmosquitto-dev mosquitto mosquitto-clients python3 systemd dpkg-dev)
if [ "${1:-}" = "--tests" ]; then
  packages+=(chromium nginx)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  echo "note: add /opt/swift/usr/bin to PATH" >&2
fi
if ! command -v swift >/dev/null 2>&1 && ! [ -x /opt/swift/usr/bin/swift ]; then
  echo "Swift 6.x is required: install it from https://swift.org/install and put it on PATH" >&2
  exit 69
fi
