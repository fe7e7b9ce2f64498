#!/usr/bin/env bash
# One command: set up, then run Anxin on embedded defaults with a simulated neighbourhood.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh runtime
exec .venv/bin/anxin up --simulate "${ANXIN_SIMULATE:-20}" "$@"
