#!/usr/bin/env bash
# One command: set up, then lint, type-check and run the whole test suite
# (unit, contract and integration against real Mosquitto, InfluxDB and Tansu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
