#!/usr/bin/env bash
# One command from a fresh clone to a running qts in embedded mode (no services needed):
# installs into ./.venv, migrates the SQLite database in ./var and serves on http://127.0.0.1:8000.
# Extra arguments go to `qts up` (e.g. --port 9000 --data-dir /tmp/qts).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "${QTS_EXTRAS:-}"
exec .venv/bin/qts up "$@"
