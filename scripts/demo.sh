#!/usr/bin/env bash
# Sets up and runs the main job on a fresh machine: the demo (embedded AxonFlow agent + notebook).
set -euo pipefail
cd "$(dirname "$0")/.."
export LITELLM_LOCAL_MODEL_COST_MAP=True
export AXONFLOW_TELEMETRY="${AXONFLOW_TELEMETRY:-off}"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[demo]"
exec .venv/bin/axonflow-notebook demo "$@"
