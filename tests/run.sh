#!/usr/bin/env bash
# The whole test suite: install into .venv, then lint, type-check and run pytest on SQLite and PostgreSQL.
# Usage: bash tests/run.sh [pytest args…]    (PYTHON=python3.12 picks another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# Independent tools the tests check our output with (and run in front of us): xmllint, xmlsec1, nginx, and
# Debian's chromium for the console's browser tests (Playwright drives it; it never downloads a browser).
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
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

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest ($("$VENV/bin/python" -V), backends: ${VIR_TEST_BACKENDS:-sqlite,postgresql})"
"$VENV/bin/python" -m pytest "$@"
