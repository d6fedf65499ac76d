"""Feature definitions, versions, the decorator and the values of each built-in group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from qts.core.errors import ValidationError
from qts.ml.features import (
    FUNDAMENTAL,
    SENTIMENT,
    TECHNICAL,
    TIME,
    FeatureContext,
    FeatureRegistry,
    default_registry,
    feature,
)
from qts.ml.features.sentiment import FinBertScorer, VaderScorer, get_scorer

from .conftest import make_fundamentals


def test_version_changes_with_params_and_code() -> None:
    reg = FeatureRegistry()

    @feature("momentum", registry=reg, window=10)
    def momentum(bars, ctx, window):
        return bars["close"].pct_change(window)

    v1 = reg.get("momentum").version
    assert reg.get("momentum").with_params(window=20).version != v1
    assert reg.get("momentum").with_params(window=10).version == v1

    @feature("momentum", registry=reg, window=10)
    def momentum_changed(bars, ctx, window):
        return bars["close"].pct_change(window) * 100

    assert reg.get("momentum").version != v1
    assert len(reg) == 1


def test_technical_group_has_many_columns_matching_talib(kr_bars) -> None:
    bars = kr_bars["005930"]
    out = TECHNICAL.compute(bars, FeatureContext(timeframe="1d"))
    assert out.shape == (len(bars), len(TECHNICAL.columns or ()))
    assert out.shape[1] >= 60
    assert out.columns.is_unique
    close = bars["close"].to_numpy()
    high, low = bars["high"].to_numpy(), bars["low"].to_numpy()
    np.testing.assert_allclose(out["rsi_14"], talib.RSI(close, 14), equal_nan=True)
    np.testing.assert_allclose(out["ret_5"].iloc[5:], close[5:] / close[:-5] - 1, rtol=1e-12)
    assert out["ret_5"].iloc[:5].isna().all()
    macd, _, _ = talib.MACD(close, 12, 26, 9)
    np.testing.assert_allclose(out["macd"], macd / close, equal_nan=True)
    np.testing.assert_allclose(out["natr_14"], talib.NATR(high, low, close, 14), equal_nan=True)
    np.testing.assert_allclose(out["close_sma_20"], close / talib.SMA(close, 20), equal_nan=True)
    last = out.iloc[-1]
    assert last.notna().all(), last[last.isna()].index.tolist()
    assert 0 <= last["rsi_14"] <= 100 and 0 <= last["mfi_14"] <= 100
    assert 0 <= last["rsqr_20"] <= 1 and 0 <= last["aroon_up_20"] <= 100
    assert 0 <= last["rsv_20"] <= 100
    assert last["max_20"] >= 1 >= last["min_20"]
    assert np.isfinite(out.to_numpy()[~np.isnan(out.to_numpy())]).all()


def test_time_features_on_known_dates() -> None:
    idx = pd.DatetimeIndex(["2024-01-31 00:00", "2024-02-05 06:00"], tz="UTC", name="ts")
    bars = pd.DataFrame(
        {c: [1.0, 1.0] for c in ["open", "high", "low", "close", "volume"]}, index=idx
    )
    out = TIME.compute(bars)
    assert out["time_dow"].tolist() == [2.0, 0.0]  # Wednesday, Monday
    assert out["time_month"].tolist() == [1.0, 2.0]
    assert out["time_days_to_month_end"].tolist() == [0.0, 24.0]  # 2024 is a leap year
    assert out["time_of_day_sin"].iloc[1] == pytest.approx(1.0)  # 06:00 is a quarter day
    assert out["time_dow_sin"].iloc[1] == pytest.approx(0.0)
    assert out["time_is_month_end_week"].tolist() == [1.0, 0.0]


def test_time_in_session_with_exchange_calendar() -> None:
    # XKRX trades 09:00-15:30 Seoul = 00:00-06:30 UTC.
    idx = pd.DatetimeIndex(
        ["2024-03-04 00:00", "2024-03-04 03:15", "2024-03-04 06:30"], tz="UTC", name="ts"
    )
    bars = pd.DataFrame({c: 1.0 for c in ["open", "high", "low", "close", "volume"]}, index=idx)
    out = TIME.with_params(tz="Asia/Seoul", calendar="XKRX").compute(bars)
    assert out["time_in_session"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_fundamentals_join_only_known_values(kr_bars) -> None:
    bars = kr_bars["005930"]
    funda = make_fundamentals(bars)
    out = FUNDAMENTAL.compute(bars, FeatureContext(timeframe="1d", fundamentals=funda))
    eps = funda[funda["metric"] == "eps"].sort_values("known_at")
    close_times = bars.index + pd.Timedelta(days=1)
    for i in (0, 100, 250, len(bars) - 1):
        known = eps[eps["known_at"] <= close_times[i]]
        latest_period = known["period_end"].max()
        value = known[known["period_end"] == latest_period]["value"].iloc[-1]
        assert out["fund_per"].iloc[i] == pytest.approx(bars["close"].iloc[i] / value)
    # The figure announced later must not appear the day before its announcement.
    announce = eps["known_at"].iloc[-2]
    day_before = bars.index[close_times < announce][-1]
    day_after = bars.index[close_times >= announce][0]
    assert out.loc[day_before, "fund_per"] != out.loc[day_after, "fund_per"]
    assert (out["fund_roe"].dropna() > 0).all()
    assert out["fund_days_since_report"].dropna().ge(0).all()


def test_fundamentals_bad_frame_is_rejected(kr_bars) -> None:
    bad = pd.DataFrame({"metric": ["eps"], "value": [1.0]})
    with pytest.raises(ValidationError, match="lacks columns"):
        FUNDAMENTAL.compute(kr_bars["005930"], FeatureContext(fundamentals=bad))


def test_vader_sentiment_by_bar(kr_bars) -> None:
    bars = kr_bars["035420"].iloc[:30]
    news = pd.DataFrame(
        {
            "known_at": [bars.index[3] + pd.Timedelta(hours=5), bars.index[10]],
            "headline": ["Record profit, shares soar", "Fraud probe widens, shares crash"],
        }
    )
    out = SENTIMENT.compute(bars, FeatureContext(timeframe="1d", news=news))
    assert out["sent_count"].sum() == 2
    assert out["sent_mean"].iloc[3] > 0.3  # known during bar 3, before its close
    # Daily bars close a day after their open: the item counts from the first close after it.
    close_times = bars.index + pd.Timedelta(days=1)
    slot = int(np.searchsorted(close_times, news["known_at"].iloc[1]))
    assert out["sent_count"].iloc[slot] == 1 and out["sent_mean"].iloc[slot] < -0.3
    assert out["sent_count"].iloc[:slot].sum() == 1
    assert out["sent_mean"].min() < -0.3
    assert out["sent_mean_5"].iloc[4] == pytest.approx(out["sent_mean"].iloc[3])


def test_vader_is_the_default_and_finbert_needs_a_path(tmp_path) -> None:
    assert isinstance(get_scorer("auto", None), VaderScorer)
    assert isinstance(get_scorer("auto", str(tmp_path)), VaderScorer)  # no config.json there
    with pytest.raises(Exception, match="finbert_path"):
        get_scorer("finbert", None)


@pytest.fixture(scope="module")
def tiny_finbert(tmp_path_factory):
    """A tiny BERT classifier and vocabulary built here, saved like a real FinBERT checkpoint."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("finbert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "profit", "loss", "record", "falls"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizer(vocab_file=str(path / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    with torch.no_grad():  # a classifier that always favours class 0 ("negative")
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([2.0, 0.0, 0.0]))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_finbert_code_path_with_a_tiny_local_model(tiny_finbert, kr_bars) -> None:
    import torch

    scorer = FinBertScorer(tiny_finbert)
    scores = scorer.score(["record profit", "loss falls"])
    p = torch.softmax(torch.tensor([2.0, 0.0, 0.0]), dim=0)
    assert scores == pytest.approx([float(p[2] - p[0])] * 2, abs=1e-5)  # about -0.665
    assert get_scorer("auto", str(tiny_finbert)).name == "finbert"
    bars = kr_bars["051910"].iloc[:20]
    news = pd.DataFrame({"known_at": [bars.index[5]], "headline": ["record profit"]})
    feat = SENTIMENT.with_params(model="auto", finbert_path=str(tiny_finbert))
    assert feat.version != SENTIMENT.version
    out = feat.compute(bars, FeatureContext(timeframe="1d", news=news))
    assert out["sent_mean"].sum() == pytest.approx(scores[0], abs=1e-6)


def test_bad_outputs_are_rejected(kr_bars) -> None:
    reg = FeatureRegistry()

    @feature("short", registry=reg)
    def short(bars, ctx):
        return bars["close"].iloc[:-1]

    with pytest.raises(ValidationError, match="one row per input bar"):
        reg.get("short").compute(kr_bars["005930"])
    with pytest.raises(ValidationError, match="needs bar columns"):
        TECHNICAL.compute(kr_bars["005930"].drop(columns=["volume"]))


def test_default_registry_and_unique_columns(kr_bars) -> None:
    reg = default_registry()
    assert reg.names() == ["fundamental", "sentiment", "technical", "time"]
    bars = kr_bars["005930"]
    out = reg.compute(bars, FeatureContext(timeframe="1d", fundamentals=make_fundamentals(bars)))
    assert out.columns.is_unique and len(out) == len(bars)
    assert sum(len(d.columns or ()) for d in reg) == out.shape[1]
