#!/usr/bin/env bash
# Render central.conf or gateway.conf into a runnable broker directory on loopback, for
# tests and demos. The real files are transformed (paths and ports rewritten with sed),
# never copied by hand, so a test exercises the real auth, ACL and limit settings.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'EOF'
usage: mosquitto/render-local.sh central OUTDIR --mqtt-port N --tls-port N --ws-port N [--certs DIR] [--reset]
       mosquitto/render-local.sh gateway OUTDIR --mqtt-port N [--bundle DIR] [--reset]

Writes OUTDIR/mosquitto.conf (run it with: mosquitto -c OUTDIR/mosquitto.conf), plus:
  OUTDIR/passwd        empty password file (append `user:$7$...` lines, then SIGHUP)
  OUTDIR/acl           the ACL head (central.acl or gateway.acl); append blocks, then SIGHUP
  OUTDIR/data/         persistence directory
  OUTDIR/mosquitto.log the broker's log (nothing goes to stdout/stderr once it runs)
  OUTDIR/mosquitto.pid written by the broker
Every listener is bound to 127.0.0.1. /etc/mosquitto/egglogu/ becomes OUTDIR/.
When run as root, `user <current user>` is added: otherwise mosquitto drops to user
mosquitto and cannot read OUTDIR. passwd and acl are kept if they exist (so users
added by a test survive a re-render) unless --reset is given.

central (from central.conf, with a header standing in for Debian's main mosquitto.conf):
  --mqtt-port N        plain MQTT listener (production: 127.0.0.1:1883, for the sync server)
  --tls-port N         MQTT over TLS listener (production: 8883)
  --ws-port N          MQTT over secure WebSockets listener (production: 8443); rendered
                       with `socket_domain ipv4`, without which 2.0.11 ignores the bind
                       address of a websockets listener and listens on every address
  --certs DIR          a directory holding ca.pem, server.pem and server.key (as made by
                       make-test-certs.sh); copied to OUTDIR/tls/. Default: make them
                       with make-test-certs.sh in OUTDIR/certs (kept across re-renders).

gateway (from gateway.conf; without --bundle it has no bridge and serves loopback only):
  --mqtt-port N        the gateway's MQTT listener (production: 1883 on every address)
  --bundle DIR         the gateway-broker/ directory written by
                       `egglogu-sync-server provision --gateway-broker`: its bridge.d/*.conf
                       (bridging egglogu/F/# both ways over TLS as bridge@F) and
                       tls/central-ca.pem are installed, its passwd and acl appended

  --reset              recreate passwd and acl from the heads (drops added users)
  -h, --help           this message
EOF
}

die() { echo "render-local: $*" >&2; exit 64; }

[[ $# -ge 1 && ( $1 == -h || $1 == --help ) ]] && { usage; exit 0; }
[[ $# -ge 2 ]] || { usage >&2; exit 64; }
kind=$1; out=$2; shift 2
[[ $kind == central || $kind == gateway ]] || die "unknown kind '$kind' (central or gateway)"

mqtt_port= tls_port= ws_port= certs= bundle= reset=false
while [[ $# -gt 0 ]]; do
  opt=$1
  case $opt in
    --reset) reset=true; shift; continue ;;
    -h|--help) usage; exit 0 ;;
    --mqtt-port|--tls-port|--ws-port|--certs|--bundle)
      [[ $# -ge 2 ]] || die "$opt needs a value"
      val=$2; shift 2 ;;
    *) die "unknown option '$opt' (see --help)" ;;
  esac
  case $opt in
    --mqtt-port) mqtt_port=$val ;;
    --tls-port) tls_port=$val ;;
    --ws-port) ws_port=$val ;;
    --certs) certs=$val ;;
    --bundle) bundle=$val ;;
  esac
done

is_port() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }
need_port() { [[ -n $2 ]] || die "$1 is required for $kind"; is_port "$2" || die "$1: not a port: '$2'"; }

need_port --mqtt-port "$mqtt_port"
if [[ $kind == central ]]; then
  need_port --tls-port "$tls_port"
  need_port --ws-port "$ws_port"
  [[ -z $bundle ]] || die "--bundle is for gateway only"
else
  [[ -z $tls_port$ws_port$certs ]] || die "--tls-port, --ws-port and --certs are for central only"
  if [[ -n $bundle ]]; then
    [[ -f $bundle/tls/central-ca.pem ]] || die "--bundle: $bundle/tls/central-ca.pem is missing (provision with --gateway-broker)"
    compgen -G "$bundle/bridge.d/*.conf" >/dev/null || die "--bundle: no bridge in $bundle/bridge.d/"
  fi
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
# mosquitto splits option lines on spaces: a path with blanks cannot be expressed.
[[ ! $out =~ [[:space:]\#] ]] || die "OUTDIR must not contain blanks or '#': '$out'"
mkdir -p "$out/data" "$out/tls"

# sed_once FILE REGEX REPLACEMENT: replace the one line matching ^REGEX$, or fail if the
# source no longer has exactly one such line (the real config changed shape).
sed_once() {
  local file=$1 re=$2 rep=$3 n
  n=$(grep -c -E "^$re\$" "$file" || true)
  [[ $n == 1 ]] || { echo "render-local: expected one line '^$re\$' in the source, found $n" >&2; exit 70; }
  sed -i -E "s|^$re\$|$rep|" "$file"
}

conf=$out/mosquitto.conf
tmp=$(mktemp "$out/.render.XXXXXX")
trap 'rm -f "$tmp"' EXIT

if [[ $(id -u) == 0 ]]; then
  user_line="user $(id -un)"
else
  user_line="# (not root: the broker keeps the invoking user)"
fi

if [[ $kind == central ]]; then
  cp "$here/central.conf" "$tmp"
  sed -i "s|/etc/mosquitto/egglogu/|$out/|g" "$tmp"
  sed_once "$tmp" 'listener 1883 127\.0\.0\.1' "listener $mqtt_port 127.0.0.1"
  sed_once "$tmp" 'listener 8883' "listener $tls_port 127.0.0.1"
  sed_once "$tmp" 'listener 8443' "listener $ws_port 127.0.0.1\nsocket_domain ipv4"
  {
    echo "# Rendered by mosquitto/render-local.sh from central.conf for a local test. Not for production."
    echo "# Header standing in for Debian's /etc/mosquitto/mosquitto.conf:"
    echo "$user_line"
    echo "pid_file $out/mosquitto.pid"
    echo "persistence true"
    echo "persistence_location $out/data/"
    echo "log_dest file $out/mosquitto.log"
    echo "# ---- central.conf, paths and ports rewritten ----"
    cat "$tmp"
  } > "$conf"

  if [[ -z $certs ]]; then
    certs=$out/certs
    "$here/make-test-certs.sh" "$certs" >/dev/null
  fi
  for f in ca.pem server.pem server.key; do
    [[ -f $certs/$f ]] || die "--certs: $certs/$f is missing"
    cp "$certs/$f" "$out/tls/$f"
  done
  acl_head=$here/central.acl
else
  cp "$here/gateway.conf" "$tmp"
  sed -i -e "s|/etc/mosquitto/egglogu/|$out/|g" \
         -e "s|/run/mosquitto/mosquitto.pid|$out/mosquitto.pid|" \
         -e "s|/var/log/mosquitto/mosquitto.log|$out/mosquitto.log|" \
         -e "s|/var/lib/mosquitto/|$out/data/|" "$tmp"
  sed_once "$tmp" 'listener 1883' "listener $mqtt_port 127.0.0.1"
  {
    echo "# Rendered by mosquitto/render-local.sh from gateway.conf for a local test. Not for production."
    echo "$user_line"
    cat "$tmp"
  } > "$conf"

  mkdir -p "$out/bridge.d"
  rm -f "$out"/bridge.d/*.conf
  if [[ -n $bundle ]]; then
    cp "$bundle/tls/central-ca.pem" "$out/tls/central-ca.pem"
    for f in "$bundle"/bridge.d/*.conf; do
      sed -e "s|/etc/mosquitto/egglogu/|$out/|g" "$f" > "$out/bridge.d/$(basename "$f")"
      chmod 0600 "$out/bridge.d/$(basename "$f")"
    done
  fi
  acl_head=$here/gateway.acl
fi

if $reset || [[ ! -e $out/passwd ]]; then
  : > "$out/passwd"
fi
if $reset || [[ ! -e $out/acl ]]; then
  cp "$acl_head" "$out/acl"
fi
if [[ -n $bundle ]]; then
  # Provisioning replaces a user it made before: drop the old line and block first.
  while IFS= read -r line; do
    user=${line%%:*}
    awk -F: -v u="$user" '$1 != u' "$out/passwd" > "$out/passwd.new"
    mv "$out/passwd.new" "$out/passwd"
    echo "$line" >> "$out/passwd"
  done < "$bundle/passwd"
  cat "$bundle/acl" >> "$out/acl"
fi
chmod 0600 "$out/passwd"

echo "render-local: $kind broker in $out; run: mosquitto -c $conf"
