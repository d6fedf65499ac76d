#!/usr/bin/env bash
# Train, evaluate out of sample and register a model version: a thin wrapper of `qts train`.
#   scripts/train_model.sh lightgbm 000660,005380,005930,035420,051910 [qts train options…]
# Same as: qts train --model MODEL --symbols SYMBOLS [options] (QTS_BIN overrides the qts
# command, default .venv/bin/qts). In scale-out the API's POST /api/v1/ml/train sends the run
# to the `ml` queue instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: scripts/train_model.sh MODEL SYMBOLS [qts train options…]" >&2
    exit 2
fi
model="$1" symbols="$2"
shift 2
exec ${QTS_BIN:-.venv/bin/qts} train --model "$model" --symbols "$symbols" "$@"
