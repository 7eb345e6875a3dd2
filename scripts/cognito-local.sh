#!/usr/bin/env bash
# cognito-local (Amazon Cognito user pools, locally) in the background:
#   scripts/cognito-local.sh start|stop|status [PORT]
# PORT defaults to $COGNITO_PORT or 9229. Its pools and users are JSON files under
# .local/cognito-PORT/.cognito (kept across restarts; delete the folder to start over).
# Log in .local/cognito-PORT.log, PID in .local/cognito-PORT.pid. `start` does nothing
# when cognito-local already answers on the port; `stop` stops only the process this
# script started (by its PID file). Its tokens name `http://localhost:9229/<poolId>` as
# their issuer whatever port it listens on: this script pins that in its config (by
# default cognito-local would write http://HOST:PORT), so the functions' issuer
# setting and the JWKS URL (the real port) are two settings, as in AWS.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cmd=${1:-status}
port=${2:-$COGNITO_PORT}
[[ "$port" =~ ^[0-9]+$ ]] || die "not a port: $port"
name="cognito-$port"
log="$LOCAL_DIR/$name.log"
data="$LOCAL_DIR/$name"

start() {
  if cognito_answers "$port"; then
    echo "cognito-local already answers on port $port: nothing to start"
    return 0
  fi
  if port_open "$port"; then
    die "port $port is in use by something that is not cognito-local"
  fi
  [ -x "$COGNITO_BIN" ] || die "cognito-local is not installed: run scripts/install.sh"
  command -v node >/dev/null 2>&1 || die "node is not installed"
  mkdir -p "$data/.cognito"
  python3 - "$data/.cognito/config.json" "$COGNITO_ISSUER_DOMAIN" <<'PY'
import json, os, sys
path, domain = sys.argv[1], sys.argv[2]
config = {}
if os.path.exists(path):
    with open(path) as f:
        config = json.load(f)
config.setdefault("TokenConfig", {})["IssuerDomain"] = domain
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY
  pushd "$data" >/dev/null
  bg_start "$name" "$log" env PORT="$port" HOST=127.0.0.1 "$COGNITO_BIN"
  popd >/dev/null
  local pid=$BG_PID _
  for _ in $(seq 1 60); do
    if cognito_answers "$port"; then
      echo "cognito-local answers on http://127.0.0.1:$port (pid $pid, log .local/$name.log)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "error: cognito-local did not answer on port $port within 30 s; end of $log:" >&2
  tail -n 30 "$log" >&2
  bg_stop "$name" cognito-local
  exit 1
}

stop() {
  local pid
  if pid=$(bg_pid "$name" cognito-local); then
    bg_stop "$name" cognito-local
    echo "cognito-local on port $port stopped (pid $pid)"
  else
    rm -f "$LOCAL_DIR/$name.pid"
    if cognito_answers "$port"; then
      echo "cognito-local on port $port was not started by this script: left running"
    else
      echo "cognito-local is not running on port $port"
    fi
  fi
}

status() {
  local pid
  if cognito_answers "$port"; then
    if pid=$(bg_pid "$name" cognito-local); then
      echo "cognito-local answers on http://127.0.0.1:$port (pid $pid, log .local/$name.log)"
    else
      echo "cognito-local answers on http://127.0.0.1:$port (not started by this script)"
    fi
  else
    echo "cognito-local does not answer on port $port"
    return 3
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status [PORT]" ;;
esac
