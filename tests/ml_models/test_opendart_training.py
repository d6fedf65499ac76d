"""Done when: fundamentals fetched by the real OpenDART client from the fake server (fixtures of
the 5 shipped KRX stocks) are stored, and `qts train --features technical,fundamental` trains a
LightGBM model on those stocks end to end; every fundamental column is non-constant over the
training rows and no bar sees a figure before its `known_at` (the filing day's bar keeps the old
figure, the next bar has the new one; a restatement takes over from its own filing).

First fetch with the fake's clock at 2024-03-31 (`qts data fundamentals fetch`), then the
collection job with the clock at 2025-06-30: the restated FY2023 report of Samsung arrives as
new rows beside the original's. Bad input leaves the stored rows as they were."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from qts.cli import common
from qts.cli.main import app
from qts.config import reset_settings_cache
from qts.db.models import Fundamental
from qts.ml.features.fundamental import FUNDAMENTAL_COLUMNS
from qts.ml.registry import ModelRegistry
from qts.services.ml import features as feature_service
from tests.fakes.opendart import API_KEY, FakeOpenDart

SYMBOLS = "005930,000660,005380,035420,051910"
runner = CliRunner()


def _json(output: str) -> Any:
    line = next(line for line in output.splitlines() if line.rstrip().endswith("}"))
    return json.loads(line[line.index("{") :])


def _rows(ctx: Any) -> list[tuple[Any, ...]]:
    with ctx.db.session() as s:
        found = s.execute(
            select(
                Fundamental.symbol,
                Fundamental.metric,
                Fundamental.period_end,
                Fundamental.known_at,
                Fundamental.value,
            )
        ).all()
    return sorted(tuple(r) for r in found)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from qts.cli.common import app_context
    from qts.ml.samples import load_bars
    from qts.services.data.market_data import store_bars
    from qts.services.ops.jobs import run_job
    from qts.workers.schedule import get_schedule

    data_dir = tmp_path_factory.mktemp("dart")
    configs = tmp_path_factory.mktemp("dart_models")
    (configs / "lightgbm.yaml").write_text("num_threads: 1\npatience: 5\n")
    with pytest.MonkeyPatch.context() as mp, FakeOpenDart(today=date(2024, 3, 31)) as fake:
        mp.setenv("QTS_DATA_DIR", str(data_dir))
        for name in ("QTS_DATABASE_URL", "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
            mp.delenv(name, raising=False)
        mp.setenv("QTS_OPENDART_API_KEY", API_KEY)
        mp.setenv("QTS_OPENDART_BASE_URL", fake.api_url)
        mp.setenv("QTS_MODEL_CONFIG_DIR", str(configs))
        reset_settings_cache()
        common._migrated.clear()
        feature_service.reset_caches()
        ctx = app_context()
        for symbol, frame in load_bars(SYMBOLS.split(","), "1d").items():  # the shipped files
            store_bars(ctx.db, "XKRX", symbol, "1d", frame)
        r = runner.invoke(app, ["data", "fundamentals", "fetch", "--symbols", SYMBOLS,
                                "--start", "2023-01-01", "--json"])  # fmt: skip
        assert r.exit_code == 0, r.output
        first = _json(r.output)
        before_job = _rows(ctx)
        fake.today = date(2025, 6, 30)  # the restatement and later filings now exist
        job = get_schedule().get("fundamentals_opendart")
        outcome = run_job(ctx, job.name, job.target, {"start": "2023-01-01"})
        assert outcome.outcome == "success", outcome.error
        r = runner.invoke(app, [
            "train", "--model", "lightgbm", "--symbols", SYMBOLS, "--features",
            "technical,fundamental", "--epochs", "20", "--folds", "2", "--json",
        ])  # fmt: skip
        assert r.exit_code == 0, r.output
        yield {"ctx": ctx, "fake": fake, "mp": mp, "first": first, "before_job": before_job,
               "job": outcome.result, "result": _json(r.output), "data_dir": data_dir}  # fmt: skip
        ctx.close()
    feature_service.reset_caches()
    reset_settings_cache()
    common._migrated.clear()


def test_fetch_then_job_store_filings_with_their_known_at(trained: dict[str, Any]) -> None:
    first, job = trained["first"], trained["job"]
    assert first["symbols"]["051910"]["no_data"] == ["2023 half"]  # OpenDART's 013
    assert first["symbols"]["005930"]["corp_code"] == "00126380"
    assert job["symbols"] == 5 and job["stored"] > first["stored"]
    eps = [r for r in _rows(trained["ctx"]) if r[:3] == ("005930", "eps", date(2023, 12, 31))]
    # The original FY2023 report (filed 2024-03-12) and its restatement (2024-04-19).
    assert [(pd.Timestamp(r[3]).date(), r[4]) for r in eps] == [
        (date(2024, 3, 13), round(14.47e12 / 6_792_669_250)),
        (date(2024, 4, 20), round(15.47e12 / 6_792_669_250)),
    ]
    assert all(r in _rows(trained["ctx"]) for r in trained["before_job"])  # nothing replaced


def test_model_trains_on_point_in_time_fundamentals(trained: dict[str, Any]) -> None:
    from qts.ml.samples import build_store_samples
    from qts.services.data.market_data import read_bars
    from qts.services.ml.model_service import feature_source

    result, ctx = trained["result"], trained["ctx"]
    used = [c for c in result["feature_names"] if c.startswith("fund_")]
    assert used == list(FUNDAMENTAL_COLUMNS)
    assert np.isfinite(result["oos"]["ic"]) and result["version"] == "1"
    registry = ModelRegistry(trained["data_dir"])
    assert registry.client.get_model_version(result["model_name"], "1").tags["train_end"]
    bars = {s: read_bars(s, "1d", db=ctx.db) for s in SYMBOLS.split(",")}
    samples, _ = build_store_samples(bars, 1, 1, "1d", "technical,fundamental", feature_source(ctx))
    names = samples.feature_names
    for column in used:
        values = samples.X[:, names.index(column)]
        assert np.unique(values[np.isfinite(values)]).size > 10, column

    def at(symbol: str, day: str, column: str) -> float:
        hit = (samples.symbols == symbol) & (samples.times == pd.Timestamp(day, tz="UTC"))
        assert hit.sum() == 1, (symbol, day)
        return float(samples.X[hit, names.index(column)][0])

    # Samsung ROE (TTM net income of the parent's owners / its equity, trillion KRW):
    q3_2023 = (1.40 + 1.55 + 5.50 + 54.73 - (11.13 + 10.95 + 9.14)) / 355.6
    fy_2023, fy_2023_restated, q1_2024 = 14.47 / 353.2, 15.47 / 354.2, 20.69 / 365.0
    expected = [
        ("2024-03-12", q3_2023), ("2024-03-13", fy_2023),  # annual report filed 2024-03-12
        ("2024-04-19", fy_2023), ("2024-04-22", fy_2023_restated),  # restated 2024-04-19
        ("2024-05-16", fy_2023_restated), ("2024-05-17", q1_2024),  # Q1 filed 2024-05-16
    ]  # fmt: skip
    for day, roe in expected:
        assert at("005930", day, "fund_roe") == pytest.approx(roe, rel=1e-9), day
    close = bars["005930"]["close"]
    assert at("005930", "2024-05-17", "fund_per") == pytest.approx(
        close.loc[pd.Timestamp("2024-05-17", tz="UTC")] / 3046
    )
    # SK hynix: a loss-making TTM gives no PER (missing reads as 0), a profit one does.
    assert at("000660", "2024-03-20", "fund_per") == 0.0
    assert at("000660", "2024-08-14", "fund_per") == 0.0  # 2024 H1 filed that day: TTM > 0
    assert at("000660", "2024-08-16", "fund_per") > 0


def test_bad_input_is_refused_and_keeps_stored_rows(trained: dict[str, Any]) -> None:
    from qts.services.data.fundamentals import collect_fundamentals

    ctx, fake, mp = trained["ctx"], trained["fake"], trained["mp"]
    stored = _rows(ctx)
    fetch = ["data", "fundamentals", "fetch", "--symbols"]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/api"
    r = runner.invoke(app, [*fetch, "005930", "--base-url", closed])
    assert r.exit_code == 3 and "OpenDART: cannot reach 127.0.0.1: connection refused" in r.output
    r = runner.invoke(app, [*fetch, "999999"])
    assert r.exit_code == 2 and "no listed company with stock code '999999'" in r.output
    fake.inject("answer", api="fnlttSinglAcntAll.json", answer=(200, {}, b"<html>oops</html>"))
    r = runner.invoke(app, [*fetch, "005930,000660", "--start", "2024-01-01"])
    assert r.exit_code == 2 and "fnlttSinglAcntAll.json: the answer is not JSON" in r.output
    fake.inject("answer", api="list.json", answer=(200, {}, {"status": "000", "list": None}))
    r = runner.invoke(app, [*fetch, "005930", "--start", "2024-01-01"])
    assert r.exit_code == 2 and "`list` is missing" in r.output
    assert API_KEY not in r.output
    mp.delenv("QTS_OPENDART_API_KEY")
    reset_settings_cache()
    r = runner.invoke(app, [*fetch, "005930"])
    assert r.exit_code == 2 and "no OpenDART API key: set QTS_OPENDART_API_KEY" in r.output
    keyless = ctx.__class__.from_settings()  # the job as a worker without a key runs it
    try:
        skipped = collect_fundamentals(keyless)
    finally:
        keyless.close()
    assert skipped == {"skipped": "no OpenDART API key (QTS_OPENDART_API_KEY)"}
    assert _rows(ctx) == stored
    mp.setenv("QTS_OPENDART_API_KEY", API_KEY)
    reset_settings_cache()
