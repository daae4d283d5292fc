#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh machine (the README's test command).
# Idempotent: skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

export LITELLM_LOCAL_MODEL_COST_MAP=True
export AXONFLOW_TELEMETRY="${AXONFLOW_TELEMETRY:-off}"
export PYTHONUNBUFFERED=1

# Debian's chromium for the browser tests; wrk for the agent benchmarks' short forms.
if ! command -v chromium >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium wrk >/dev/null
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium wrk >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

# The browser tests run in a pytest process of their own: Playwright's sync API keeps an event
# loop marked as running in the main thread for the whole session, which would break every
# asyncio test collected after them.
run_pytest() {
  set +e
  .venv/bin/python -m pytest "$@"
  local rc=$?
  set -e
  if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: failing on purpose" >&2
    return 1
  fi
  return "$rc"
}

if [ "$#" -gt 0 ]; then
  run_pytest "$@"
  exit $?
fi
status=0
# The import direction between packages and inside the notebook (pyproject.toml, importlinter).
.venv/bin/lint-imports || status=$?
run_pytest -m "not browser" --durations=15 || status=$?
run_pytest -m browser tests/browser --durations=5 || status=$?
exit "$status"
