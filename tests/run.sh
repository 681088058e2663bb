#!/usr/bin/env bash
# The whole test suite: install into .venv, then lint, type-check and run pytest on SQLite and PostgreSQL.
# Usage: bash tests/run.sh [pytest args…]    (PYTHON=python3.12 picks another interpreter)
# Every tier: the quick one alone is  VIR_TEST_BACKENDS=sqlite .venv/bin/python -m pytest -m "not slow"
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# Independent tools the tests check our output with (and run in front of us): xmllint, xmlsec1, nginx;
# SoftHSM2 holds the checkpoint key in the PKCS#11 tests; the chain partners' SOAP stacks; and Debian's
# chromium for the console's browser tests (Playwright drives it; it never downloads a browser).
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
# The client stacks whose guides (docs/clients/) tests/test_clients.py runs: PHP SoapClient, gSOAP,
# JAX-WS (wsimport) and Node (node-soap comes from npm, below).
command -v php >/dev/null 2>&1 || missing+=(php-cli)
{ command -v php >/dev/null 2>&1 && php -m 2>/dev/null | grep -qx soap; } || missing+=(php-soap)
command -v wsdl2h >/dev/null 2>&1 || missing+=(gsoap)
[ -f /usr/include/stdsoap2.h ] || missing+=(libgsoap-dev)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v wsimport >/dev/null 2>&1 || missing+=(jaxws)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}…"
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "required Debian packages missing: ${missing[*]}" >&2
    exit 1
  fi
fi

# node-soap, at the version docs/clients/node/package-lock.json pins.
[ -d docs/clients/node/node_modules/soap ] || (cd docs/clients/node && npm ci --no-audit --no-fund --loglevel=error)

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest ($("$VENV/bin/python" -V), backends: ${VIR_TEST_BACKENDS:-sqlite,postgresql})"
"$VENV/bin/python" -m pytest "$@"
