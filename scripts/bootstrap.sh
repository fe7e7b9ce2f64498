#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) or a developer checkout:
# Debian packages when missing, then a virtualenv in .venv with Anxin installed.
# Usage: scripts/bootstrap.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-runtime}"

need=()
have_python_venv() { python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }
command -v python3 >/dev/null 2>&1 || need+=(python3)
have_python_venv || need+=(python3-venv python3-pip)
if [ "$profile" = test ]; then
  # Real servers the tests start themselves (they install these too when missing).
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
  command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)
  command -v influxd >/dev/null 2>&1 || need+=(influxdb)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing Debian packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$profile" = test ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
