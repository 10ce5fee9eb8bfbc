#!/usr/bin/env bash
# A local tour: builds in release mode, starts egglogu-sync-server on a free loopback port,
# imports the shared sample farm on one gateway, syncs it to a second gateway, edits the same
# flock on both, shows the conflict on both sides and resolves it; then starts mosquitto and both
# gateways as services and shows an edit on one arriving on the other, with the measured delay.
# Everything lands in ./demo/ (recreated on each run); every process it started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product egglogu-agent
swift build -c release --product egglogu-sync-server
swift build -c release --product egglogu-bench
bin=.build/release
rm -rf demo && mkdir -p demo
sample="../shared/data/egglogu_data.sample.json"
if [ ! -f "$sample" ]; then
  "$bin/egglogu-bench" generate --size small -o demo/farm.json
  sample=demo/farm.json
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start the sync server (embedded SQLite in demo/server)"
mqtt_port=$(free_port)
"$bin/egglogu-sync-server" serve --data-dir demo/server --port 0 --mqtt-host 127.0.0.1 --mqtt-port "$mqtt_port" \
  > demo/server.log 2> demo/server.err &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do grep -q "listening on" demo/server.log 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' demo/server.log | head -1)
echo "server $url (pid $server_pid)"
for gw in gateway-1 gateway-2; do
  "$bin/egglogu-sync-server" token --data-dir demo/server --farm farm-demo --device "$gw" > "demo/$gw.token"
  chmod 600 "demo/$gw.token"
  cat > "demo/$gw.conf" <<CONF
EGGLOGU_REPLICA=$gw.sqlite
EGGLOGU_DEVICE_ID=$gw
EGGLOGU_FARM_ID=farm-demo
EGGLOGU_SERVER_URL=$url
EGGLOGU_TOKEN_FILE=$gw.token
CONF
done
g1=(--config demo/gateway-1.conf)
g2=(--config demo/gateway-2.conf)
agent="$bin/egglogu-agent"

step "gateway-1 imports the app's farm blob and syncs"
"$agent" import "${g1[@]}" "$sample"
"$agent" sync "${g1[@]}"
step "gateway-2 starts empty and syncs"
"$agent" sync "${g2[@]}"

flock=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["flocks"][0]["id"])' "$sample")
edit() { # edit CONFIG FIELD VALUE: change one field of the first flock
  "$agent" get --config "$1" flocks "$flock" --compact |
    python3 -c 'import json,sys; r=json.load(sys.stdin); r[sys.argv[1]]=json.loads(sys.argv[2]); print(json.dumps(r))' "$2" "$3" |
    "$agent" put --config "$1" flocks -
}

step "both gateways count flock $flock at the same time, while offline"
edit demo/gateway-1.conf currentCount 5100
edit demo/gateway-2.conf currentCount 4999
"$agent" put "${g2[@]}" flocks '{"name":"Lote Demo","breed":"isa-brown","count":4800,"status":"cria"}'

step "they sync: the later count wins everywhere, the other is kept for review"
"$agent" sync "${g1[@]}"
"$agent" sync "${g2[@]}"
"$agent" sync "${g1[@]}"
"$agent" conflicts "${g1[@]}"

id=$("$agent" conflicts "${g1[@]}" --json | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e[0]["id"] if e else "")')
if [ -n "$id" ]; then
  step "gateway-1 keeps the archived count; the resolution syncs to gateway-2"
  "$agent" resolve "${g1[@]}" "${id:0:8}" --keep-mine
  "$agent" sync "${g1[@]}"
  "$agent" sync "${g2[@]}"
  for cfg in demo/gateway-1.conf demo/gateway-2.conf; do
    "$agent" get --config "$cfg" flocks "$flock" --compact |
      python3 -c 'import json,sys; r=json.load(sys.stdin); print(sys.argv[1], "currentCount", r["currentCount"])' "$(basename "$cfg" .conf)"
  done
fi

step "status of gateway-2"
"$agent" status "${g2[@]}"
step "the server's view"
"$bin/egglogu-sync-server" devices --data-dir demo/server --farm farm-demo
cmp <("$agent" export "${g1[@]}") <("$agent" export "${g2[@]}") && echo "both gateways export the same blob"

step "real time: mosquitto on port $mqtt_port, both gateways as services (egglogu-agent run)"
mosquitto -p "$mqtt_port" > demo/mosquitto.log 2>&1 &
pids+=($!)
for gw in gateway-1 gateway-2; do
  printf 'EGGLOGU_MQTT_HOST=127.0.0.1\nEGGLOGU_MQTT_PORT=%s\n' "$mqtt_port" >> "demo/$gw.conf"
  "$agent" run --config "demo/$gw.conf" 2> "demo/$gw.service.log" &
  pids+=($!)
done
for _ in $(seq 100); do
  "$agent" status "${g1[@]}" | grep -q "service    realtime" && "$agent" status "${g2[@]}" | grep -q "service    realtime" && break
  sleep 0.1
done
"$agent" status "${g1[@]}" | grep service
"$agent" status "${g2[@]}" | grep service
start=$(date +%s%N)
"$agent" put "${g1[@]}" logbook '{"id":"demo-realtime","category":"note","entry":"typed on gateway-1"}'
until "$agent" get "${g2[@]}" logbook demo-realtime > /dev/null 2>&1; do sleep 0.005; done
echo "gateway-2 has it after $(( ($(date +%s%N) - start) / 1000000 )) ms (two short-lived CLI processes included)"
step "stopping every process this demo started"
