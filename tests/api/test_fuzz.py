"""A bounded, seeded slice of the schemathesis run (issue 14, defect 5): every operation, as
anonymous, viewer, trader and admin, never answers 5xx. `benchmarks/fuzz_api.py` runs more."""

from __future__ import annotations

from pathlib import Path

from qts.api.app import create_app
from tests.api.conftest import PASSWORDS, make_settings, seed_users
from tests.api.fuzzing import fuzz, login_headers, serve_in_thread

EXAMPLES_PER_OPERATION = 6


def test_no_operation_answers_5xx_for_any_role(tmp_path: Path, pg_url: str) -> None:
    # PostgreSQL: its 32-bit integer columns are the narrower bound (SQLite's are 64-bit).
    settings = make_settings(tmp_path, pg_url)
    seed_users(settings)
    app = create_app(settings)
    try:
        with serve_in_thread(app) as base_url:
            headers = login_headers(base_url, PASSWORDS)
            report = fuzz(base_url, headers, EXAMPLES_PER_OPERATION, seed=14, modes=("positive",))
    finally:
        app.state.ctx.close()
    assert report.operations >= 40
    assert report.requests >= report.operations * 4  # every operation reached for every role
    assert report.server_errors == 0, "\n".join(report.failures[:20])
