#!/usr/bin/env bash
# Start qts. `scripts/start.sh` (or `start.sh embedded`): the embedded mode, exactly
# scripts/up.sh. `scripts/start.sh compose [service…]`: the scale-out topology of
# docker-compose.yml (needs Docker with Compose and a .env with the secrets; see README
# "Production deployment"). Extra arguments go to `qts up` or to `docker compose up`.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-embedded}"
[ $# -gt 0 ] && shift
case "$mode" in
embedded) exec scripts/up.sh "$@" ;;
compose)
    [ -f .env ] || { echo "error: no .env: cp .env.example .env and set the secrets" >&2; exit 2; }
    if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
    exec "${compose[@]}" up -d --build "$@"
    ;;
*) echo "usage: scripts/start.sh [embedded|compose] [args…]" >&2; exit 2 ;;
esac
