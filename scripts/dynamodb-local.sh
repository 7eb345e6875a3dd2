#!/usr/bin/env bash
# DynamoDB Local, in memory, in the background:
#   scripts/dynamodb-local.sh start|stop|status [PORT]
# PORT defaults to $DYNAMODB_PORT or 8000. Log in .local/dynamodb-PORT.log, PID in
# .local/dynamodb-PORT.pid. `start` does nothing when DynamoDB Local already answers on
# the port; `stop` stops only the process this script started (by its PID file).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cmd=${1:-status}
port=${2:-$DYNAMODB_PORT}
[[ "$port" =~ ^[0-9]+$ ]] || die "not a port: $port"
name="dynamodb-$port"
log="$LOCAL_DIR/$name.log"

start() {
  if ddb_answers "$port"; then
    echo "DynamoDB Local already answers on port $port: nothing to start"
    return 0
  fi
  if port_open "$port"; then
    die "port $port is in use by something that is not DynamoDB Local"
  fi
  [ -f "$DDB_EMULATOR_DIR/DynamoDBLocal.jar" ] || die "DynamoDB Local is not installed: run scripts/install.sh"
  command -v java >/dev/null 2>&1 || die "java is not installed: run scripts/install.sh"
  mkdir -p "$LOCAL_DIR"
  # -sharedDb: one database whatever the access key and region of the client.
  pushd "$DDB_EMULATOR_DIR" >/dev/null
  bg_start "$name" "$log" java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
    -inMemory -sharedDb -port "$port" -disableTelemetry
  popd >/dev/null
  local pid=$BG_PID _
  for _ in $(seq 1 60); do
    if ddb_answers "$port"; then
      echo "DynamoDB Local answers on http://127.0.0.1:$port (pid $pid, log .local/$name.log)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "error: DynamoDB Local did not answer on port $port within 30 s; end of $log:" >&2
  tail -n 30 "$log" >&2
  bg_stop "$name" DynamoDBLocal
  exit 1
}

stop() {
  local pid
  if pid=$(bg_pid "$name" DynamoDBLocal); then
    bg_stop "$name" DynamoDBLocal
    echo "DynamoDB Local on port $port stopped (pid $pid)"
  else
    rm -f "$LOCAL_DIR/$name.pid"
    if ddb_answers "$port"; then
      echo "DynamoDB Local on port $port was not started by this script: left running"
    else
      echo "DynamoDB Local is not running on port $port"
    fi
  fi
}

status() {
  local pid
  if ddb_answers "$port"; then
    if pid=$(bg_pid "$name" DynamoDBLocal); then
      echo "DynamoDB Local answers on http://127.0.0.1:$port (pid $pid, log .local/$name.log)"
    else
      echo "DynamoDB Local answers on http://127.0.0.1:$port (not started by this script)"
    fi
  else
    echo "DynamoDB Local does not answer on port $port"
    return 3
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status [PORT]" ;;
esac
