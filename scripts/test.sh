#!/usr/bin/env bash
# One command from a fresh clone to the full check: installs into ./.venv with the test extras,
# then runs the linters, the type checker and the test suite. Extra arguments go to pytest.
# Tests that need PostgreSQL or Redis skip with a reason when those are not running, unless
# QTS_TEST_REQUIRE_SERVICES=1 (as CI sets).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "${QTS_TEST_EXTRAS:-dev,workers,brokers,ml,rl,data}"
.venv/bin/ruff check src tests benchmarks notebooks
.venv/bin/ruff format --check src tests benchmarks notebooks
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
