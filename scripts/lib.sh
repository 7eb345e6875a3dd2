# shellcheck shell=bash disable=SC2034
# Sourced by the scripts beside it: paths, local AWS defaults, and the helpers for
# installing things, waiting on local services and running background processes with
# PID files under .local/ (gitignored).

LOYALTY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LOYALTY_CACHE="${LOYALTY_CACHE:-$HOME/.cache/loyalty}"
LOYALTY_VENV="$LOYALTY_CACHE/venv"
LOCAL_DIR="$LOYALTY_ROOT/.local"
# DynamoDB Local (the official jar) ships inside this npm package.
DDB_NPM_PACKAGE="amplify-dynamodb-simulator@2.9.30"
DDB_HOME="$LOYALTY_CACHE/dynamodb-local-2.9.30"
DDB_EMULATOR_DIR="$DDB_HOME/package/emulator"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
# cognito-local plays Amazon Cognito (the console's sign-in) locally; npm package,
# installed into the cache. Its issuer always says port 9229, whatever port it listens on.
COGNITO_NPM_PACKAGE="cognito-local@5.3.0"
COGNITO_HOME="$LOYALTY_CACHE/cognito-local-5.3.0"
COGNITO_BIN="$COGNITO_HOME/node_modules/.bin/cognito-local"
COGNITO_PORT="${COGNITO_PORT:-9229}"
# The issuer's scheme, host and port in every token (scripts/cognito-local.sh pins it).
COGNITO_ISSUER_DOMAIN="http://localhost:9229"
export LOYALTY_ROOT LOYALTY_CACHE DYNAMODB_PORT COGNITO_PORT

case ":$PATH:" in
  *":$LOYALTY_VENV/bin:"*) ;;
  *) PATH="$LOYALTY_VENV/bin:$PATH" ;;
esac
export PATH

# Local defaults; whatever the caller already set wins. A region and credentials keep
# the SDK from probing the instance metadata endpoint.
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:$DYNAMODB_PORT}"
# The streams client has an endpoint setting of its own (DynamoDB Local answers both).
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="${AWS_ENDPOINT_URL_DYNAMODB_STREAMS:-$AWS_ENDPOINT_URL_DYNAMODB}"
export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="${AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER:-http://127.0.0.1:$COGNITO_PORT}"
export LOYALTY_TABLE="${LOYALTY_TABLE:-loyalty}"
export RUST_LOG="${RUST_LOG:-info}"
# The local SMS sender (OTP codes) appends here.
export LOYALTY_SMS_OUTBOX="${LOYALTY_SMS_OUTBOX:-$LOCAL_DIR/sms-outbox.log}"

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
  else
    die "need root (or sudo) to run: $*"
  fi
}

_APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  if [ "$_APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq >/dev/null
    _APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  # shellcheck disable=SC2016 # $1 expands in the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# ddb_call TARGET JSON [PORT]: one unsigned DynamoDB API call to DynamoDB Local; prints the body.
ddb_call() {
  curl -s --max-time 5 -X POST "http://127.0.0.1:${3:-$DYNAMODB_PORT}/" \
    -H "X-Amz-Target: DynamoDB_20120810.$1" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
    -d "$2"
}

# True when DynamoDB Local answers a ListTables call on PORT.
ddb_answers() {
  ddb_call ListTables '{}' "${1:-$DYNAMODB_PORT}" 2>/dev/null | grep -q '"TableNames"'
}

# True when cognito-local answers a ListUserPools call on PORT.
cognito_answers() {
  curl -s --max-time 5 -X POST "http://127.0.0.1:${1:-$COGNITO_PORT}/" \
    -H 'X-Amz-Target: AWSCognitoIdentityProviderService.ListUserPools' \
    -H 'Content-Type: application/x-amz-json-1.1' \
    -d '{"MaxResults": 1}' 2>/dev/null | grep -q '"UserPools"'
}

# bg_start NAME LOG CMD...: starts CMD in the background in a session of its own (so that
# stopping it also stops what it spawned), output to LOG, stdin from /dev/null, PID in
# .local/NAME.pid and in BG_PID. Call it from a script, not an interactive shell.
bg_start() {
  local name=$1 log=$2
  shift 2
  mkdir -p "$LOCAL_DIR"
  setsid "$@" >"$log" 2>&1 </dev/null &
  BG_PID=$!
  echo "$BG_PID" >"$LOCAL_DIR/$name.pid"
}

# bg_pid NAME [PATTERN]: prints the PID from .local/NAME.pid when that process is alive
# (and its command line contains PATTERN); fails otherwise.
bg_pid() {
  local pidfile="$LOCAL_DIR/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "${2:-}" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  fi
  echo "$pid"
}

# bg_stop NAME [PATTERN]: stops the process recorded in .local/NAME.pid, and the process
# group it leads, by PID only: TERM, then KILL after 10 s. Removes the PID file.
bg_stop() {
  local name=$1 pid group _
  if pid=$(bg_pid "$name" "${2:-}"); then
    group=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    if [ "$group" = "$pid" ]; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -KILL -- "-$pid" 2>/dev/null || true
    else
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap it when it is our child; harmless otherwise.
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$LOCAL_DIR/$name.pid"
}

# console_config FILE POOL_ID CLIENT_ID: writes the console's config.json for the local
# stack (same-origin API, cognito-local behind the console server's /cognito/).
console_config() {
  python3 - "$1" "$2" "$3" "$AWS_REGION" <<'PY'
import json, sys
path, pool, client, region = sys.argv[1:5]
with open(path, "w") as f:
    json.dump({"apiBase": "", "cognitoEndpoint": "/cognito/", "region": region,
               "userPoolId": pool, "clientId": client, "stage": "local"}, f, indent=2)
PY
}

# console_start NAME PORT CONFIG API_PORT: serves the console on PORT in the background
# (scripts/console-server.py: the files, CONFIG as /config.json, /api and /v1 forwarded
# to 127.0.0.1:API_PORT, /cognito/ to cognito-local on $COGNITO_PORT), log in
# .local/NAME.log, stopped with `bg_stop NAME console-server`; waits until it answers.
console_start() {
  local name=$1 port=$2 config=$3 api_port=$4 _
  bg_start "$name" "$LOCAL_DIR/$name.log" python3 "$LOYALTY_ROOT/scripts/console-server.py" --port "$port" \
    --config "$config" --api "http://127.0.0.1:$api_port" --cognito "http://127.0.0.1:$COGNITO_PORT"
  for _ in $(seq 1 50); do
    curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/config.json" && return 0
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 0.2
  done
  printf 'error: the console server did not answer on port %s; end of .local/%s.log:\n' "$port" "$name" >&2
  tail -n 20 "$LOCAL_DIR/$name.log" >&2
  return 1
}

# Functions and routes of the `cargo lambda watch` router in the workspace Cargo.toml.
# routes TENANT: one line per route, "METHOD FUNCTION PATH", path parameters filled in
# (any parameter whose name contains "tenant" gets TENANT, others "ready-check").
# routes --functions: the function names, one a line.
routes() {
  python3 - "$LOYALTY_ROOT/Cargo.toml" "$1" <<'PY'
import re, sys, tomllib
with open(sys.argv[1], "rb") as f:
    manifest = tomllib.load(f)
router = (manifest.get("workspace", {}).get("metadata", {}).get("lambda", {})
          .get("watch", {}).get("router", {}))
rows = []
for path, spec in router.items():
    entries = [{"function": spec}] if isinstance(spec, str) else spec
    for entry in entries:
        rows.append((str(entry.get("method", "GET")).upper(), entry["function"], path))
if sys.argv[2] == "--functions":
    for name in dict.fromkeys(function for _, function, _ in rows):
        print(name)
else:
    tenant = sys.argv[2]
    fill = lambda m: tenant if "tenant" in m.group(1) else "ready-check"
    for method, function, path in rows:
        print(method, function, re.sub(r"\{\*?([^}]*)\}", fill, path))
PY
}

# Builds each routed function the way `cargo lambda watch` will (`cargo run --bin NAME`
# selects the same packages and features), so its first request does not compile.
build_functions() {
  local fn
  for fn in $(routes --functions); do
    cargo build -q --bin "$fn" || return 1
  done
}

# wait_for_routes PORT TENANT GET_KEY OTHER_KEY WATCH_PID WATCH_LOG [TIMEOUT_S]
# Requests every routed path once (GET with GET_KEY; other methods with OTHER_KEY and the
# body {}) until each answers: any HTTP status counts except none (000) and the router's
# own 404 for an unrouted path. The watch starts a function on its first request.
wait_for_routes() {
  local port=$1 tenant=$2 get_key=$3 other_key=$4 pid=$5 log=$6 timeout=${7:-900}
  local deadline=$((SECONDS + timeout)) method fn path code body routes_list
  body=$(mktemp)
  routes_list=$(routes "$tenant")
  if [ -z "$routes_list" ]; then
    warn "no routes in [workspace.metadata.lambda.watch.router] of Cargo.toml"
    rm -f "$body"
    return 0
  fi
  while read -r method fn path; do
    while :; do
      if [ "$method" = GET ] || [ "$method" = HEAD ] || [ "$method" = ANY ]; then
        code=$(curl -s -o "$body" -w '%{http_code}' --max-time 120 -X "${method/ANY/GET}" \
          -H "X-API-Key: $get_key" "http://127.0.0.1:$port$path") || true
      else
        code=$(curl -s -o "$body" -w '%{http_code}' --max-time 120 -X "$method" \
          -H "X-API-Key: $other_key" -H 'Content-Type: application/json' -d '{}' \
          "http://127.0.0.1:$port$path") || true
      fi
      if [ "$code" != 000 ] && ! { [ "$code" = 404 ] && grep -q 'default function route is disabled' "$body"; }; then
        printf '    %-6s %-45s %s (%s)\n' "$method" "$path" "$code" "$fn"
        case "$code" in 5*) warn "$fn answered $code: $(head -c 300 "$body")" ;; esac
        break
      fi
      if ! kill -0 "$pid" 2>/dev/null; then
        printf 'error: cargo lambda watch exited; end of %s:\n' "$log" >&2
        tail -n 40 "$log" >&2
        rm -f "$body"
        return 1
      fi
      if grep -q -E '^error(\[E[0-9]+\])?:' "$log"; then
        printf 'error: a function failed to compile; end of %s:\n' "$log" >&2
        tail -n 40 "$log" >&2
        rm -f "$body"
        return 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        printf 'error: %s %s did not answer within %ss (last status %s); end of %s:\n' \
          "$method" "$path" "$timeout" "$code" "$log" >&2
        tail -n 40 "$log" >&2
        rm -f "$body"
        return 1
      fi
      sleep 2
    done
  done <<<"$routes_list"
  rm -f "$body"
}

# demo_vars FILE: reads the JSON of `loyalty-admin seed-demo --json` and prints shell
# assignments (DEMO_TENANT, DEMO_LIVE_KEY, DEMO_TEST_KEY, DEMO_READ_ONLY_KEY (pos
# channel), DEMO_APP_KEY (app channel: may redeem rewards), DEMO_MOBILE, DEMO_EMAIL, DEMO_COUPON, DEMO_COUPON_VALUE, DEMO_COUPONS) for eval.
# DEMO_COUPON is the first coupon that is active and not past its expiry date.
demo_vars() {
  python3 - "$1" <<'PY'
import datetime, json, shlex, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
required = ["tenant", "live_key", "test_key", "read_only_key", "app_key", "customer_mobile", "coupons"]
missing = [k for k in required if d.get(k) in (None, "")]
if missing:
    sys.exit(f"seed-demo output lacks {', '.join(missing)}: {sys.argv[1]}")
today = datetime.date.today().isoformat()
usable = [c for c in d.get("coupons") or []
          if str(c.get("status", "active")).lower() == "active"
          and str(c.get("expiry_date") or "9999-12-31")[:10] >= today]
def out(name, value):
    print(f"{name}={shlex.quote('' if value is None else str(value))}")
out("DEMO_TENANT", d["tenant"])
out("DEMO_LIVE_KEY", d["live_key"])
out("DEMO_TEST_KEY", d["test_key"])
out("DEMO_READ_ONLY_KEY", d["read_only_key"])
out("DEMO_APP_KEY", d["app_key"])
out("DEMO_MOBILE", d["customer_mobile"])
out("DEMO_EMAIL", d.get("customer_email"))
out("DEMO_COUPON", usable[0]["code"] if usable else "")
out("DEMO_COUPON_VALUE", usable[0].get("value") if usable else "")
out("DEMO_COUPONS", " ".join(c["code"] for c in usable))
PY
}
