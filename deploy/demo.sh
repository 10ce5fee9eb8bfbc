#!/usr/bin/env bash
# One-command demo of egglogu-sync on this machine, everything on loopback:
#   builds in release mode, starts the central mosquitto broker and egglogu-sync-server
#   (embedded SQLite), provisions farm-demo with two gateways (gateway-1 straight to the
#   central broker over TLS, gateway-2 behind its own gateway broker bridged to the central
#   one), runs both agents, imports the shared sample farm on gateway-1, then edits a flock
#   on each side and measures how long the edit takes to show up on the other.
# Every process it starts is stopped by pid on exit or Ctrl-C; the temp dir is removed.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: deploy/demo.sh [-h|--help]

Builds (swift build -c release --static-swift-stdlib) after deploy/install-deps.sh, then runs
a central broker, a gateway broker bridged to it, egglogu-sync-server and two egglogu-agent
services on free loopback ports, and shows an edit crossing from one gateway to the other.
Ctrl-C at any time stops everything it started.

environment:
  EGGLOGU_BIN_DIR=DIR   use DIR/egglogu-agent and DIR/egglogu-sync-server; skip install and build
  EGGLOGU_SAMPLE=FILE   the farm blob to import (default: ../shared/data/egglogu_data.sample.json
                        next to the repository, else a farm made by egglogu-bench generate)
  KEEP=1                keep the temp dir (logs, replicas, broker files) and print its path
  HOLD=1                keep everything running at the end (to browse gateway-1's status page) until Ctrl-C
EOF
}
case ${1:-} in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 64 ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="$PATH:/usr/sbin"   # mosquitto lives there; not on a normal user's PATH
farm="farm-demo"
if [[ -t 1 ]]; then b=$'\e[1m' n=$'\e[0m'; else b='' n=''; fi
step() { printf '\n%s== %s%s\n' "$b" "$*" "$n"; }
die() { echo "demo: $*" >&2; exit 1; }

# Settings from the caller's environment must not leak into the demo's programs.
for v in $(compgen -e); do
  case $v in EGGLOGU_BIN_DIR|EGGLOGU_SAMPLE) ;; EGGLOGU_*) unset "$v" ;; esac
done
export EGGLOGU_SYNC_CONFIG=   # no /etc/egglogu-sync-server/server.conf

sample=${EGGLOGU_SAMPLE:-$repo/../shared/data/egglogu_data.sample.json}
if [[ -n ${EGGLOGU_BIN_DIR:-} ]]; then
  step "using the binaries in $EGGLOGU_BIN_DIR (no install, no build)"
  bin=$(cd "$EGGLOGU_BIN_DIR" && pwd)
  for c in mosquitto mosquitto_passwd openssl python3; do
    command -v "$c" >/dev/null || die "$c is missing: run deploy/install-deps.sh"
  done
else
  step "installing what the build needs, then building in release mode"
  ./deploy/install-deps.sh
  export PATH="/opt/swift/usr/bin:$PATH"
  products=(egglogu-agent egglogu-sync-server)
  [[ -f $sample ]] || products+=(egglogu-bench)
  for p in "${products[@]}"; do swift build -c release --static-swift-stdlib --product "$p"; done
  bin=$repo/.build/release
fi
for p in egglogu-agent egglogu-sync-server; do [[ -x $bin/$p ]] || die "$bin/$p is missing"; done
agent=$bin/egglogu-agent server_bin=$bin/egglogu-sync-server
if [[ -f $sample ]]; then
  sample=$(cd "$(dirname "$sample")" && pwd)/$(basename "$sample")
else
  [[ -x $bin/egglogu-bench ]] || die "no $sample, and no $bin/egglogu-bench to generate a farm (set EGGLOGU_SAMPLE=FILE)"
fi

# ---- processes and cleanup -------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/egglogu-demo.XXXXXX")
agents=() server=() brokers=()
alive() { # running and not a zombie
  local state=
  { read -r _ _ state _ < "/proc/$1/stat"; } 2>/dev/null || return 1
  [[ $state != Z ]]
}
stop() { # stop PID...: SIGTERM, up to 10 s to finish, then SIGKILL; reap them all
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  local p left
  for _ in $(seq 100); do
    left=0; for p; do alive "$p" && left=1; done
    ((left)) || break
    sleep 0.1
  done
  for p; do alive "$p" && { echo "demo: pid $p ignored SIGTERM, killing it" >&2; kill -KILL "$p" 2>/dev/null || true; }; done
  for p; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  trap '' INT TERM   # a second Ctrl-C must not cut the cleanup short
  step "stopping what the demo started: agents (${agents[*]:-none}), server (${server[*]:-none}), brokers (${brokers[*]:-none})"
  stop "${agents[@]}"; stop "${server[@]}"; stop "${brokers[@]}"
  local p; for p in "${agents[@]}" "${server[@]}" "${brokers[@]}"; do alive "$p" && echo "demo: pid $p is still running" >&2; done
  echo "all stopped."
  if [[ ${KEEP:-} == 1 ]]; then echo "kept $work (logs: */*.log)"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.1 s
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  die "timed out after ${secs}s waiting for $what (KEEP=1 keeps the logs)"
}
start_broker() { # start_broker DIR
  mosquitto -c "$1/mosquitto.conf" > "$1/stdout.log" 2>&1 &
  local pid=$!; brokers+=("$pid")
  wait_for 10 "mosquitto in $1" grep -qs ' running$' "$1/mosquitto.log"
  alive "$pid" || die "mosquitto in $1 exited: $(tail -n 3 "$1/mosquitto.log")"
}
reloads() { grep -c 'Reloading config' "$1/mosquitto.log" || true; }
reloaded_since() { (( $(reloads "$1") > $2 )); }
reload_broker() { # reload_broker DIR PID: SIGHUP, then wait until the broker has reloaded
  local before; before=$(reloads "$1")
  kill -HUP "$2"
  wait_for 5 "the broker in $1 to reload" reloaded_since "$1" "$before"
}

read -r p_mqtt p_tls p_ws p_gw p_page < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')

if [[ ! -f $sample ]]; then
  "$bin/egglogu-bench" generate --size small -o "$work/farm.json"
  sample=$work/farm.json
fi

# ---- central broker and sync server ------------------------------------------------------
step "central broker: MQTT 127.0.0.1:$p_mqtt (for the server), TLS :$p_tls (for gateways), WSS :$p_ws"
mosquitto/render-local.sh central "$work/central" --mqtt-port "$p_mqtt" --tls-port "$p_tls" --ws-port "$p_ws" | sed 's/^/  /'
start_broker "$work/central"
central_pid=${brokers[0]}
(umask 077; openssl rand -hex 24 > "$work/server-mqtt-password")
mosquitto_passwd -b "$work/central/passwd" egglogu-sync-server "$(cat "$work/server-mqtt-password")"
reload_broker "$work/central" "$central_pid"
echo "  running (pid $central_pid); broker user egglogu-sync-server added"

step "sync server on embedded SQLite, publishing notices to the central broker"
"$server_bin" serve --data-dir "$work/server" --port 0 --mqtt-host 127.0.0.1 --mqtt-port "$p_mqtt" \
  --mqtt-username egglogu-sync-server --mqtt-password-file "$work/server-mqtt-password" \
  > "$work/server.out" 2> "$work/server.log" &
server=($!)
wait_for 20 "the server to listen" grep -qs 'listening on' "$work/server.out"
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -n 1)
echo "  $url (pid ${server[0]})"

# ---- provisioning, gateway broker ---------------------------------------------------------
step "provisioning $farm: gateway-1 talks to the central broker over TLS, gateway-2 through a gateway broker"
provision() { # provision DEVICE [--gateway-broker]
  mkdir -p "$work/$1/state"
  "$server_bin" provision --data-dir "$work/server" --farm "$farm" --device "$1" --out "$work/$1/bundle" \
    --server-url "$url" --mqtt-host 127.0.0.1 --mqtt-port "$p_tls" --mqtt-ca-file "$work/central/tls/ca.pem" \
    --broker-dir "$work/central" --state-dir "$work/$1/state" "${@:2}" | sed 's/^/  /'
}
provision gateway-1
provision gateway-2 --gateway-broker
reload_broker "$work/central" "$central_pid"
c1=$work/gateway-1/bundle/agent/agent.conf c2=$work/gateway-2/bundle/agent/agent.conf

step "gateway broker of gateway-2 on 127.0.0.1:$p_gw, bridged to the central broker over TLS"
mosquitto/render-local.sh gateway "$work/gateway-broker" --mqtt-port "$p_gw" \
  --bundle "$work/gateway-2/bundle/gateway-broker" | sed 's/^/  /'
start_broker "$work/gateway-broker"
wait_for 15 "the bridge to connect" grep -q 'New bridge connected' "$work/central/mosquitto.log"
echo "  running (pid ${brokers[1]}); central broker log: $(grep -o 'New bridge connected.*' "$work/central/mosquitto.log" | tail -n 1)"

# ---- agents -------------------------------------------------------------------------------
step "gateway-1 imports the farm ($(basename "$sample"))"
"$agent" import --config "$c1" "$sample"

step "starting both agents (egglogu-agent run); gateway-1 serves its status page on 127.0.0.1:$p_page"
EGGLOGU_LOG_LEVEL=info "$agent" run --config "$c1" --http "127.0.0.1:$p_page" 2> "$work/gateway-1/agent.log" &
agents+=($!)
# provision wrote gateway-2's broker as 127.0.0.1:1883 (the gateway's usual port): point it at ours.
start_gateway_2() {
  EGGLOGU_LOG_LEVEL=info EGGLOGU_MQTT_PORT=$p_gw "$agent" run --config "$c2" 2>> "$work/gateway-2/agent.log" &
  agents[1]=$!
}
start_gateway_2
echo "  gateway-1 pid ${agents[0]}, gateway-2 pid ${agents[1]}"
probe() { # probe CONFIG: "<service mode> <live records>"
  local j; j=$("$agent" status --config "$1" --json 2>/dev/null) || { echo "none 0"; return; }
  python3 -c 'import json, sys
s = json.loads(sys.argv[1]); print((s["service"] or {}).get("mode", "none"), s["records"]["live"])' "$j"
}
both_ready() {
  local m1 n1 m2 n2
  read -r m1 n1 < <(probe "$c1"); read -r m2 n2 < <(probe "$c2")
  [[ $m1 == realtime && $m2 == realtime && $n1 -gt 0 && $n1 == "$n2" ]]
}
for _ in $(seq 20); do
  for p in "${agents[@]}"; do alive "$p" || die "agent $p exited: $(tail -n 2 "$work"/gateway-*/agent.log)"; done
  both_ready && break; sleep 0.5
done
both_ready || die "the agents did not both reach realtime mode with the same records within 10 s"
echo "  both in realtime mode; gateway-2 pulled the farm: $(probe "$c2" | cut -d' ' -f2) live records on each side"
echo "  gateway-2's agent log: $(grep -o 'broker connected.*' "$work/gateway-2/agent.log" | tail -n 1) (its gateway broker)"

# ---- an edit crossing over ------------------------------------------------------------------
flock=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["flocks"][0]["id"])' "$sample")
count=$("$agent" get --config "$c1" flocks "$flock" --compact |
  python3 -c 'import json, sys; r = json.load(sys.stdin); print(r.get("currentCount") or r.get("count") or 1000)')
after_sync_ms() { # after_sync_ms STAMP LOG: from STAMP to the first "synced ... pulled=N>0" line of LOG after it
  python3 - "$1" "$2" <<'PY'
import datetime, re, sys
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
stamp = t(sys.argv[1])
for line in open(sys.argv[2]):
    m = re.match(r"(\S+) \w+ egglogu-agent: synced .*pulled=[1-9]", line)
    if m and t(m.group(1)) >= stamp:
        print(round((t(m.group(1)) - stamp).total_seconds() * 1000)); break
else:
    print("?")
PY
}
cross() { # cross FROM TO VALUE: set the flock's currentCount on FROM, time its arrival on TO
  local from=$work/$1/bundle/agent/agent.conf to=$work/$2/bundle/agent/agent.conf json start out ms stamp
  json=$("$agent" get --config "$from" flocks "$flock" --compact |
    python3 -c 'import json, sys; r = json.load(sys.stdin); r["currentCount"] = int(sys.argv[1]); print(json.dumps(r))' "$3")
  start=$(date +%s%N)
  "$agent" put --config "$from" flocks "$json" > /dev/null
  until out=$("$agent" get --config "$to" flocks "$flock" --compact 2>/dev/null) &&
        [[ $out == *"\"currentCount\":$3,"* || $out == *"\"currentCount\":$3}"* ]]; do
    (( $(date +%s%N) - start < 30000000000 )) || die "the edit did not reach $2 within 30 s"
    sleep 0.005
  done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  stamp=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["_updatedAt"])' "$out")
  echo "  $2 has it after ${b}$ms ms${n} (the services alone: $(after_sync_ms "$stamp" "$work/$2/agent.log") ms, from the edit's stamp $stamp"
  echo "  to $2's agent logging the pull)"
}

step "gateway-1 counts flock $flock: $count → $((count - 3)) birds; watching gateway-2"
echo "  Timed from starting \`egglogu-agent put\` on one gateway until a \`get\` on the other (a new CLI process"
echo "  every ~5 ms) returns the edit: the put's commit, its agent's push to the server, the notice through"
echo "  the brokers, the other agent's pull, and the start-up of both CLI processes."
cross gateway-1 gateway-2 $((count - 3))
echo "  gateway-2's agent is connected to its gateway broker only, and polls the server every 15 min while it"
echo "  is: the notice that woke it was published on the central broker and crossed the bridge."

step "gateway-2 counts it again: $((count - 3)) → $((count - 5)); watching gateway-1"
cross gateway-2 gateway-1 $((count - 5))

step "status of gateway-1"
s=$("$agent" status --config "$c1"); printf '%s' "${s%%collections*}"
step "status of gateway-2"
s=$("$agent" status --config "$c2"); printf '%s\n' "${s%%collections*}"
if cmp -s <("$agent" export --config "$c1") <("$agent" export --config "$c2"); then
  echo "both gateways export the same farm blob."
else
  die "the two gateways export different blobs"
fi

# ---- a conflict, resolved on the status page -------------------------------------------------------
page=http://127.0.0.1:$p_page
api() { # api METHOD PATH [JSON]: the status page's API, with its CSRF token for POSTs
  python3 - "$page" "$@" <<'PY'
import json, sys, urllib.request
base, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
headers = {"Content-Type": "application/json"}
if method == "POST":
    headers["X-CSRF-Token"] = json.load(urllib.request.urlopen(base + "/api/session"))["csrfToken"]
request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
try:
    print(urllib.request.urlopen(request).read().decode())
except urllib.error.HTTPError as error:
    print(error.read().decode()); sys.exit(1)
PY
}
step "a conflict: gateway-2 goes offline and edits flock $flock while gateway-1 deletes it"
kill -TERM "${agents[1]}"; wait "${agents[1]}" 2>/dev/null || true
"$agent" delete --config "$c1" flocks "$flock"
edited=$("$agent" get --config "$c2" flocks "$flock" --compact |
  python3 -c 'import json, sys; r = json.load(sys.stdin); r["notes"] = "counted by hand on gateway-2"; print(json.dumps(r))')
"$agent" put --config "$c2" flocks "$edited" > /dev/null
start_gateway_2
conflict_on_page() { api GET /api/conflicts | python3 -c 'import json, sys; c = json.load(sys.stdin)["conflicts"]; sys.exit(0 if c else 1)'; }
wait_for 20 "the conflict to reach gateway-1's page" conflict_on_page
echo "  back online, gateway-2 pushed its edit; the deletion wins and the edit is archived on every device:"
"$agent" conflicts --config "$c1" | awk 'NR <= 3 || /^  \* /' | sed 's/^/  /'  # the header and the fields that differ
id=$(api GET /api/conflicts | python3 -c 'import json, sys; print(json.load(sys.stdin)["conflicts"][0]["id"])')
step "Keep Mine through gateway-1's status page ($page/): POST /api/conflicts/${id:0:12}…/resolve"
start=$(date +%s%N)
api POST "/api/conflicts/$id/resolve" '{"choice":"keep-mine"}' |
  python3 -c 'import json, sys; r = json.load(sys.stdin); print("  answer: republished =", r["republished"])'
live_on_2() { "$agent" get --config "$c2" flocks "$flock" --compact 2>/dev/null | grep -q '"_deletedAt":null'; }
wait_for 30 "the record to come back on gateway-2" live_on_2
echo "  the kept record is live again on gateway-2 after ${b}$(( ($(date +%s%N) - start) / 1000000 )) ms${n}"
echo "  (resolve, push, notice through both brokers and the bridge, gateway-2's pull, a CLI start)"
api POST "/api/conflicts/$id/resolve" '{"choice":"accept-theirs"}' | sed 's/^/  a second resolve: /' || true
echo "  open $page/ in a browser while the demo runs (KEEP=1 HOLD=1 keeps it running until Ctrl-C)"
if [[ ${HOLD:-} == 1 ]]; then
  echo "holding; Ctrl-C stops everything"; while sleep 3600; do :; done
fi
