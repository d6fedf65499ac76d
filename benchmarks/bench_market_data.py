"""Market data storage speed: bulk import and one-year reads, SQLite and PostgreSQL, beside a
plain pandas read of the same bars from Parquet.

    python benchmarks/bench_market_data.py [--rows 1000000] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

PostgreSQL gets a temporary database (created and dropped); it is skipped if unreachable.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

import qts.db.models  # noqa: F401 - registers the tables
from qts.db import Database
from qts.db.base import Base
from qts.db.repositories.market import MarketRepository
from qts.market.synthetic import generate_bars

YEAR_OF_MINUTES = 365 * 24 * 60


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_db(
    url: str, bars: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> dict[str, float]:
    db = Database(url)
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)

    def load() -> dict[str, int]:
        with db.session() as s:
            return MarketRepository(s).upsert_bars("SYNTH", "SYN0", "1m", bars)

    load_s, counts = timed(load)
    assert counts["inserted"] == len(bars), counts
    reload_s, counts = timed(load)  # idempotent re-import of the same rows
    assert counts["unchanged"] == len(bars), counts

    def read() -> pd.DataFrame:
        with db.session() as s:
            return MarketRepository(s).read_bars("SYNTH", "SYN0", "1m", start, end)

    read(), read()  # warm the cache as a running server would have it
    read_s = min(timed(read)[0] for _ in range(3))
    year = read()
    assert len(year) == YEAR_OF_MINUTES, len(year)
    db.dispose()
    return {"load": len(bars) / load_s, "reload": len(bars) / reload_s, "read_ms": read_s * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    console = Console(width=120)

    bars = generate_bars(1, args.rows, "1m", seed=42)["SYN0"]
    start = bars.index[0]
    end = start + pd.Timedelta(minutes=YEAR_OF_MINUTES - 1)
    table = Table(title=f"market data storage, {args.rows:,} one-minute bars, one symbol")
    for col in (
        "backend",
        "bulk import (rows/s)",
        "re-import, unchanged (rows/s)",
        "read 1 year (ms)",
    ):
        table.add_column(col, justify="right")

    with tempfile.TemporaryDirectory() as tmp:
        parquet_all = Path(tmp) / "bars.parquet"
        parquet_year = Path(tmp) / "year.parquet"
        write_s, _ = timed(lambda: bars.to_parquet(parquet_all))
        bars.loc[start:end].to_parquet(parquet_year)
        read_all_s = min(timed(lambda: pd.read_parquet(parquet_all))[0] for _ in range(3))
        read_year_s = min(timed(lambda: pd.read_parquet(parquet_year))[0] for _ in range(3))
        table.add_row(
            "pandas Parquet write / read (baseline)",
            f"{args.rows / write_s:,.0f} (write)",
            f"{args.rows / read_all_s:,.0f} (read all)",
            f"{read_year_s * 1000:,.1f}",
        )

        sqlite = bench_db(f"sqlite:///{Path(tmp) / 'bench.db'}", bars, start, end)
        table.add_row(
            "SQLite (executemany upsert)",
            f"{sqlite['load']:,.0f}",
            f"{sqlite['reload']:,.0f}",
            f"{sqlite['read_ms']:,.1f}",
        )

    try:
        import psycopg

        admin = psycopg.connect(
            args.pg.replace("postgresql+psycopg", "postgresql"), autocommit=True
        )
    except Exception as exc:
        table.add_row("PostgreSQL", "skipped", str(exc)[:40], "")
    else:
        name = f"qts_bench_{uuid.uuid4().hex[:8]}"
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                url = args.pg.rsplit("/", 1)[0] + f"/{name}"
                pg = bench_db(url, bars, start, end)
                table.add_row(
                    "PostgreSQL (COPY + upsert)",
                    f"{pg['load']:,.0f}",
                    f"{pg['reload']:,.0f}",
                    f"{pg['read_ms']:,.1f}",
                )
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    console.print(table)


if __name__ == "__main__":
    main()
