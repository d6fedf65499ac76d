#!/usr/bin/env bash
# Create ./.venv (if missing) and install qts into it with the given extras.
# Usage: scripts/bootstrap.sh [extras], e.g. scripts/bootstrap.sh dev,workers
# The install is editable, so code changes need no reinstall; pip runs again only when
# pyproject.toml, the extras or the Python change (a stamp in .venv records what was installed).
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
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
STAMP=.venv/.qts-install-stamp
WANT="$( (cat pyproject.toml; echo "extras=$EXTRAS"; .venv/bin/python --version) | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    exit 0  # nothing changed since the last install
fi
if [ -n "$EXTRAS" ]; then
    echo "installing qts with extras: $EXTRAS (QTS_EXTRAS= for the light install)" >&2
    .venv/bin/python -m pip install --quiet -e ".[${EXTRAS}]"
else
    .venv/bin/python -m pip install --quiet -e .
fi
echo "$WANT" > "$STAMP"
