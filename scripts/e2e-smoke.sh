#!/usr/bin/env bash
# Starts the real server (embedded simulator) under RUNTIME (node | deno), runs the shared contract
# smoke against it, restarts it on the same DATA_DIR, and checks the flow is still authorized and
# its token call still works.  Usage: scripts/e2e-smoke.sh node|deno
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=${1:-node}
port=$(( 20000 + RANDOM % 20000 ))
export PORT=$port PUBLIC_URL="http://127.0.0.1:$port" SIMULATOR_PORT=$((port + 1)) SIMULATOR_PUBLIC_URL="http://127.0.0.1:$((port + 1))"
export DATA_DIR; DATA_DIR=$(mktemp -d)
export API_TOKEN; API_TOKEN=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
log="$DATA_DIR/server.log"
smoke=../shared/contract/smoke.mjs

start() {
  if [ "$runtime" = deno ]; then deno task start >>"$log" 2>&1 & else npx tsx src/main.node.ts >>"$log" 2>&1 & fi
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$PUBLIC_URL/healthz" >/dev/null && return 0; sleep 0.2; done
  echo "e2e($runtime): the server did not start"; cat "$log"; exit 1
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap 'stop; rm -rf "$DATA_DIR"' EXIT

start
if [ -f "$smoke" ]; then node "$smoke" "$PUBLIC_URL" "$API_TOKEN"; else echo "e2e($runtime): $smoke not found; skipping the shared smoke"; fi

# The flow the smoke authorized must survive a restart.
flow=$(curl -sf -H "authorization: Bearer $API_TOKEN" "$PUBLIC_URL/api/flows?state=altinnAuthorized" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const f=JSON.parse(s).flows;console.log(f.length?f[f.length-1].id:"")})')
[ -n "$flow" ] || { echo "e2e($runtime): no altinnAuthorized flow after the smoke"; exit 1; }
stop
start
state=$(curl -sf -H "authorization: Bearer $API_TOKEN" "$PUBLIC_URL/api/flows/$flow" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).state))')
status=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $API_TOKEN" -H 'content-type: application/json' -X POST "$PUBLIC_URL/api/flows/$flow/token" -d '{"user":"alice"}')
if [ "$state" = altinnAuthorized ] && [ "$status" = 200 ]; then
  echo "e2e($runtime): after a restart the flow is $state and the token call answers $status"
else
  echo "e2e($runtime): after a restart the flow is $state and the token call answers $status"; cat "$log"; exit 1
fi
if grep -qiE 'eyJ[A-Za-z0-9_-]{10,}\.' "$log"; then echo "e2e($runtime): a JWT appeared in the server log"; exit 1; fi
echo "restart: 1 passed, 0 failed"
