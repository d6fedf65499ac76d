"""A US model trained end to end on news sentiment: FNSPID's daily GPT scores
(`../shared/data/news/daily_sentiment_fnspid.csv`, 1..5; rows with news_flag 0 carry no news)
imported with `qts data news import --score-column sentiment_gpt --score-range 1:5` beside the
matching US daily prices, then `qts train --features technical,sentiment` (a tiny LightGBM).
Each sentiment column varies over the training rows, and every bar counts exactly the items
known by its close (date-only items are known from the end of their day, US/Eastern).

The data is CC BY-NC: read from the shared folder only, never copied into the repository;
the test is skipped where that folder is absent (a user's clone)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qts.cli import common
from qts.cli.main import app
from qts.config import reset_settings_cache

REPO = Path(__file__).resolve().parents[2]
# `../shared/data` beside the repository (a worktree one level deeper also looks one up).
SHARED = next(
    (p for p in (REPO.parent / "shared" / "data", REPO.parents[1] / "shared" / "data")
     if (p / "news" / "daily_sentiment_fnspid.csv").is_file()),
    None,
)  # fmt: skip
TICKERS = ["KO", "PEP", "COST", "MRK", "NKE"]
FIRST, LAST = "2019-09-01", "2021-12-31"  # four months of indicator warm-up, two years
runner = CliRunner()
pytestmark = pytest.mark.skipif(
    SHARED is None, reason="../shared/data (FNSPID, CC BY-NC) is absent: not shipped with qts"
)


def _json(output: str) -> Any:
    line = next(line for line in output.splitlines() if line.rstrip().endswith("}"))
    return json.loads(line[line.index("{") :])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    assert SHARED is not None
    work = tmp_path_factory.mktemp("fnspid")
    scores = pd.read_csv(SHARED / "news" / "daily_sentiment_fnspid.csv", dtype={"date": str})
    scores = scores[scores["ticker"].isin(TICKERS) & scores["date"].between(FIRST, LAST)]
    scores.to_csv(work / "sentiment.csv", index=False)  # a slice in the test's temp dir only
    configs = work / "models"
    configs.mkdir()
    (configs / "lightgbm.yaml").write_text(  # tiny and single-threaded: a shared CI machine
        "epochs: 20\nlr: 0.1\nnum_leaves: 7\nmin_data_in_leaf: 20\nnum_threads: 1\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QTS_MODEL_CONFIG_DIR", str(configs))
        mp.setenv("QTS_DATA_DIR", str(work / "var"))
        for name in ("QTS_DATABASE_URL", "QTS_MLFLOW_TRACKING_URI", "QTS_REDIS_URL"):
            mp.delenv(name, raising=False)
        reset_settings_cache()
        common._migrated.clear()
        for ticker in TICKERS:
            bars = pd.read_csv(SHARED / "us_daily" / f"{ticker}.csv", dtype={"timestamp": str})
            bars[bars["timestamp"].between(FIRST, LAST)].to_csv(work / f"{ticker}.csv", index=False)
            r = runner.invoke(app, ["data", "import", str(work / f"{ticker}.csv"), "--symbol",
                                    ticker, "--timeframe", "1d", "--exchange", "XNYS"])  # fmt: skip
            assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["data", "news", "import", str(work / "sentiment.csv"),
                                "--score-column", "sentiment_gpt", "--score-range", "1:5",
                                "--json"])  # fmt: skip
        assert r.exit_code == 0, r.output
        imported = _json(r.output)
        r = runner.invoke(app, [
            "train", "--model", "lightgbm", "--symbols", ",".join(TICKERS), "--features",
            "technical,sentiment", "--folds", "2", "--json",
        ])  # fmt: skip
        assert r.exit_code == 0, r.output
        yield {"work": work, "scores": scores, "imported": imported, "result": _json(r.output)}
    reset_settings_cache()
    common._migrated.clear()


def _stored_sentiment(work: Path) -> pd.DataFrame:
    from qts.adapters.feature_store_sql import SqlOfflineStore
    from qts.db import Database
    from qts.ml.feature_store import FeatureKey
    from qts.ml.features import SENTIMENT

    db = Database(f"sqlite:///{work / 'var' / 'qts.db'}")
    try:
        return SqlOfflineStore(db).read(FeatureKey.of(SENTIMENT), "1d", TICKERS)
    finally:
        db.dispose()


def test_sentiment_trains_a_us_model_and_varies_over_training_rows(trained: dict) -> None:
    news_rows = trained["scores"][trained["scores"]["news_flag"] == 1]
    imported, result = trained["imported"], trained["result"]
    assert imported["inserted"] == len(news_rows) > 2000  # news_flag 0 rows are no news
    assert imported["scored"] == {"provider:sentiment_gpt": len(news_rows)}
    assert sorted(result["symbols"]) == sorted(TICKERS) and result["version"]
    stored = _stored_sentiment(trained["work"])
    start = pd.Timestamp(result["train_start"]).value // 10**6
    end = pd.Timestamp(result["train_end"]).value // 10**6
    rows = stored[(stored["ts"] >= start) & (stored["ts"] <= end)]
    assert len(rows) > 2000
    # One score file row a trading day: a bar counts 0 or 1 item, the means vary widely.
    assert set(rows["sent_count"]) == {0.0, 1.0}
    for column in ("sent_mean", "sent_mean_5", "sent_mean_20", "sent_pos_share_5"):
        assert rows[column].dropna().nunique() > 5, column


def test_a_bar_counts_exactly_the_items_known_by_its_close(trained: dict) -> None:
    stored = _stored_sentiment(trained["work"])
    news = trained["scores"][trained["scores"]["news_flag"] == 1]
    for ticker in TICKERS:
        mine = news[news["ticker"] == ticker]
        # A date-only item is known from the end of its day in New York.
        known = (
            pd.to_datetime(mine["date"]).dt.tz_localize("US/Eastern") + pd.Timedelta(days=1)
        ).dt.tz_convert("UTC")
        bars = stored[stored["entity"] == ticker].sort_values("ts")
        close = pd.to_datetime(bars["ts"].to_numpy() + 86_400_000, unit="ms", utc=True)
        slot = close.searchsorted(pd.DatetimeIndex(known), side="left")
        expected = np.bincount(slot[slot < len(bars)], minlength=len(bars))
        assert bars["sent_count"].to_numpy()[1:] == pytest.approx(expected[1:])  # 1st: backlog
        # The score of a bar with one item is that item's score mapped from 1..5 to -1..1.
        one = np.flatnonzero(expected == 1)[1:50]
        item_of = {s: i for i, s in enumerate(slot)}
        mapped = (mine["sentiment_gpt"].to_numpy()[[item_of[k] for k in one]] - 3.0) / 2.0
        assert bars["sent_mean"].to_numpy()[one] == pytest.approx(mapped)
        # Nothing is seen before it is known: the bar before an item's bar closed before it.
        assert (close[np.clip(slot - 1, 0, None)][slot > 0] < known.to_numpy()[slot > 0]).all()
