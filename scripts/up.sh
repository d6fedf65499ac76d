#!/usr/bin/env bash
# One command from a fresh clone to a running qts in embedded mode (no services needed):
# installs into ./.venv, migrates the SQLite database in ./var and serves on http://127.0.0.1:8000.
# The whole product is installed by default (extras ml, rl, brokers, workers, data); choose
# fewer with QTS_EXTRAS, e.g. `QTS_EXTRAS= ./scripts/up.sh` (core only) or QTS_EXTRAS=ml.
# A restart reuses ./.venv and skips pip when nothing changed.
# Extra arguments go to `qts up` (e.g. --port 9000 --data-dir /tmp/qts).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "${QTS_EXTRAS-ml,rl,brokers,workers,data}"
exec .venv/bin/qts up "$@"
