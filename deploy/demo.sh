#!/usr/bin/env bash
# A local tour of the agent: builds in release mode, imports the shared sample farm into a
# gateway's replica, carries it to a second gateway as an exported blob, edits the same flock
# on both, brings the second gateway's changes back, and resolves the conflict that shows.
# Everything lands in ./demo/ (recreated on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product egglogu-agent --product egglogu-bench
agent=".build/release/egglogu-agent"
rm -rf demo && mkdir -p demo
sample="../shared/data/egglogu_data.sample.json"
if [ ! -f "$sample" ]; then
  .build/release/egglogu-bench generate --size small -o demo/farm.json
  sample=demo/farm.json
fi
g1=(--replica demo/gateway-1.sqlite)
g2=(--replica demo/gateway-2.sqlite)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
first_flock() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["flocks"][0]["id"])' "$sample"; }
edit() { # edit REPLICA-ARGS... -- FIELD VALUE: change one field of the first flock
  local args=("${@:1:$#-2}") field="${*: -2:1}" value="${*: -1}"
  "$agent" get "${args[@]}" flocks "$flock" --compact |
    python3 -c 'import json,sys; r=json.load(sys.stdin); r[sys.argv[1]]=json.loads(sys.argv[2]); print(json.dumps(r))' "$field" "$value" |
    "$agent" put "${args[@]}" flocks -
}

step "gateway-1 imports the app's farm blob"
"$agent" import "${g1[@]}" --device-id gateway-1 --farm-id farm-demo "$sample"
step "importing the same blob again changes nothing"
"$agent" import "${g1[@]}" "$sample"

step "gateway-1's export (with sync metadata) seeds gateway-2"
"$agent" export "${g1[@]}" --output demo/from-gateway-1.json
"$agent" import "${g2[@]}" --device-id gateway-2 --farm-id farm-demo demo/from-gateway-1.json

flock=$(first_flock)
step "both gateways edit flock $flock; gateway-1 also adds a flock and deletes a vaccine"
edit "${g1[@]}" currentCount 5100
sleep 0.01
edit "${g2[@]}" currentCount 4999
"$agent" put "${g1[@]}" flocks '{"name":"Lote Demo","breed":"isa-brown","count":4800,"status":"cria"}'
vaccine=$("$agent" get "${g1[@]}" vaccines --compact | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[0]["id"] if v else "")')
[ -n "$vaccine" ] && "$agent" delete "${g1[@]}" vaccines "$vaccine"

step "gateway-2's changes reach gateway-1 as a blob: the concurrent edit is kept for review"
"$agent" export "${g2[@]}" --output demo/from-gateway-2.json
"$agent" import "${g1[@]}" demo/from-gateway-2.json
"$agent" conflicts "${g1[@]}"

id=$("$agent" conflicts "${g1[@]}" --json | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e[0]["id"] if e else "")')
if [ -n "$id" ]; then
  step "gateway-1 keeps its own count"
  "$agent" resolve "${g1[@]}" "${id:0:8}" --keep-mine
  "$agent" get "${g1[@]}" flocks "$flock" --compact | python3 -c 'import json,sys; r=json.load(sys.stdin); print("currentCount is now", r["currentCount"], "(generation", str(r.get("_syncGen", 0)) + ")")'
fi

step "status of gateway-1"
"$agent" status "${g1[@]}"

step "gateway-1 exports the farm for the app (demo/export.json)"
"$agent" export "${g1[@]}" --output demo/export.json
python3 -c 'import json; b=json.load(open("demo/export.json")); print(len(b), "top-level keys,", len(b["flocks"]), "flocks,", len(b.get("vaccines", [])), "vaccines")'
