#!/usr/bin/env bash
# Deploy a registered version: move the `production` alias to it, only if it beats the current
# production version out of sample (the promotion gate); a thin wrapper of `qts models promote`.
#   scripts/deploy_model.sh NAME VERSION [--no-gate] [--alias staging]
# Strategies, the batch inference job and `qts serve-models` read the alias again at their next
# bar or request, so no process needs a restart.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: scripts/deploy_model.sh NAME VERSION [--no-gate] [--alias staging]" >&2
    exit 2
fi
name="$1" version="$2"
shift 2
exec ${QTS_BIN:-.venv/bin/qts} models promote "$name" "$version" --gate "$@"
