"""Servers started together on a fresh database both come up (issue 14, defect 11: one crashed
with a duplicate key while loading the sample data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from qts.db.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]
PREPARE = (
    "from qts.api.server import prepare; from qts.config import Settings; "
    "prepare(Settings(database_url={url!r}, data_dir={data!r}))"
)


def _start_together(url: str, tmp_path: Path, n: int) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PREPARE.format(url=url, data=str(tmp_path / f"d{i}"))],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


def test_two_servers_starting_on_a_fresh_postgres_both_succeed(pg_url: str, tmp_path: Path) -> None:
    results = _start_together(pg_url, tmp_path, 2)
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        datasets = conn.execute(
            sa.text("SELECT exchange, symbol, timeframe, count(*) FROM bars GROUP BY 1, 2, 3")
        ).all()
        versions = conn.execute(sa.text("SELECT version_num FROM qts_schema_version")).all()
    engine.dispose()
    assert len(datasets) >= 3
    assert [v[0] for v in versions] == [head_revision()]


def test_two_servers_starting_on_a_fresh_sqlite_file_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'qts.db'}"
    results = _start_together(url, tmp_path, 2)
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
