"""Schemathesis over every operation of the API as anonymous, viewer, trader and admin; prints a
table of statuses and every response >= 500 with a curl line to reproduce it. Exit 1 on any 5xx.

    python benchmarks/fuzz_api.py --examples 100 --modes positive,negative
    python benchmarks/fuzz_api.py --database-url postgresql+psycopg://postgres@127.0.0.1/qts_fuzz

The server runs in this process on a fresh database (a temporary SQLite file unless
--database-url names an empty one), with one user per role. CI runs a bounded slice of the same
harness: tests/api/test_fuzz.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.conftest import PASSWORDS, make_settings, seed_users
from tests.api.fuzzing import fuzz, login_headers, serve_in_thread

from qts.api.app import create_app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=50, help="per operation, role and mode")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--modes", default="positive,negative")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'qts.db'}"
        settings = make_settings(Path(tmp), url)
        seed_users(settings)
        app = create_app(settings)
        try:
            with serve_in_thread(app) as base_url:
                headers = login_headers(base_url, PASSWORDS)
                modes = tuple(m.strip() for m in args.modes.split(","))
                report = fuzz(base_url, headers, args.examples, args.seed, modes)
        finally:
            app.state.ctx.close()
    print(f"operations {report.operations}, requests {report.requests}, {report.seconds:.0f} s")
    print("| status | responses |")
    print("|---|---|")
    for status, n in sorted(report.by_status.items()):
        print(f"| {status} | {n} |")
    for failure in report.failures:
        print(failure)
    return 1 if report.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
