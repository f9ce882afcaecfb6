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

# The server runs in its own process group (setsid; in a non-interactive shell the background job
# is not a group leader, so setsid makes it one without forking and $! is the group's id). Stopping
# signals the whole group, as a supervisor would, so nothing it started can outlive the stop.
start() {
  if [ "$runtime" = deno ]; then setsid deno task start >>"$log" 2>&1 & else setsid npm start >>"$log" 2>&1 & fi
  pgid=$!
  for _ in $(seq 1 100); do
    if curl -sf "$PUBLIC_URL/healthz" >/dev/null; then
      [ "$(ps -o pgid= -p "$pgid" | tr -d ' ')" = "$pgid" ] || { echo "e2e($runtime): the server is not its own process group; cannot stop it as a whole"; exit 1; }
      return 0
    fi
    sleep 0.2
  done
  echo "e2e($runtime): the server did not start"; cat "$log"; exit 1
}
group_alive() { kill -0 -- "-$pgid" 2>/dev/null; }
# SIGTERM to the group; KILL what is still there after 5 s. Returns 1 when KILL was needed.
stop() {
  [ -n "${pgid:-}" ] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 50); do group_alive || break; sleep 0.1; done
  local clean=0
  if group_alive; then
    echo "e2e($runtime): the server's process group was still running 5 s after SIGTERM; killing it"
    kill -KILL -- "-$pgid" 2>/dev/null || true
    clean=1
  fi
  wait "$pgid" 2>/dev/null || true
  pgid=
  return $clean
}
port_free() { node -e 'const s=require("net").createServer().once("error",()=>process.exit(1));s.listen(+process.argv[1],"127.0.0.1",()=>s.close())' "$1"; }
trap 'stop || true; rm -rf "$DATA_DIR"' EXIT

start
if [ -f "$smoke" ]; then node "$smoke" "$PUBLIC_URL" "$API_TOKEN"; else echo "e2e($runtime): $smoke not found; skipping the shared smoke"; fi

# The flow the smoke authorized must survive a restart.
flow=$(curl -sf -H "authorization: Bearer $API_TOKEN" "$PUBLIC_URL/api/flows?state=altinnAuthorized" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const f=JSON.parse(s).flows;console.log(f.length?f[f.length-1].id:"")})')
[ -n "$flow" ] || { echo "e2e($runtime): no altinnAuthorized flow after the smoke"; exit 1; }
stop || { cat "$log"; exit 1; }
# A restart must talk to a new server: a port still held means the old one is alive.
for p in "$PORT" "$SIMULATOR_PORT"; do
  port_free "$p" || { echo "e2e($runtime): port $p is still in use after the stop; the restart would talk to the old server"; cat "$log"; exit 1; }
done
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
