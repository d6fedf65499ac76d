#!/usr/bin/env bash
# Create ./.venv (if missing) and install qts into it with the given extras.
# Usage: scripts/bootstrap.sh [extras], e.g. scripts/bootstrap.sh dev,workers
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "qts needs Python >= 3.11 (found $("$PYTHON" --version))" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ -n "$EXTRAS" ]; then
    .venv/bin/python -m pip install --quiet -e ".[${EXTRAS}]"
else
    .venv/bin/python -m pip install --quiet -e .
fi
