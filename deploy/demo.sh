#!/usr/bin/env bash
# A local tour: builds in release mode, starts egglogu-sync-server on a free loopback port,
# imports the shared sample farm on one gateway, syncs it to a second gateway, edits the same
# flock on both, shows the conflict on both sides, resolves it, and syncs again.
# Everything lands in ./demo/ (recreated on each run); the server is stopped on exit.
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

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start the sync server (embedded SQLite in demo/server)"
"$bin/egglogu-sync-server" serve --data-dir demo/server --port 0 > demo/server.log 2> demo/server.err &
server_pid=$!
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
