"""File layouts, validation rules and repair, on the real files and corrupted copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DATA, SAMPLE
from qts.core.errors import ValidationError
from qts.market.files import load_bars_file

SAMSUNG = SAMPLE / "kr_daily" / "005930.csv"
BTC = SAMPLE / "crypto_1h" / "BTC_USDT.csv"


def _rejection(path: Path) -> dict:
    with pytest.raises(ValidationError) as info:
        load_bars_file(path)
    return info.value.details


def test_sample_file_is_canonical_frame() -> None:
    df = load_bars_file(SAMSUNG, exchange="XKRX")
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert df.index.name == "ts" and str(df.index.tz) == "UTC"
    assert all(str(t) == "float64" for t in df.dtypes)
    assert len(df) == 370
    # daily bars are keyed at 00:00 UTC of the KRX trading date
    assert df.index[0] == pd.Timestamp("2023-12-05", tz="UTC")
    assert df.loc[pd.Timestamp("2023-12-05", tz="UTC"), "close"] == 71200.0
    assert df.attrs["report"]["warnings"] == []  # no missing XKRX session in this file


def test_pykrx_korean_header_matches_plain_layout() -> None:
    korean = load_bars_file(DATA / "layouts" / "005930_pykrx.csv")
    pd.testing.assert_frame_equal(korean, load_bars_file(SAMSUNG), check_freq=False)


def test_intraday_utc_layout() -> None:
    df = load_bars_file(BTC, exchange="binance")
    assert df.index[0] == pd.Timestamp("2024-09-14T00:00:00Z")
    assert df.iloc[0]["open"] == 60497.99
    assert df.attrs["report"]["warnings"] == []  # no missing hour in 12,553 candles


def test_pandas_unnamed_index_yahoo_and_epoch_layouts(tmp_path: Path) -> None:
    ref = load_bars_file(BTC).iloc[:200]
    # pandas df.to_csv(): the first column has no header
    unnamed = tmp_path / "unnamed.csv"
    ref.rename_axis(None).to_csv(unnamed)
    assert pd.read_csv(unnamed).columns[0] == "Unnamed: 0"
    pd.testing.assert_frame_equal(load_bars_file(unnamed), ref, check_freq=False)
    # epoch milliseconds and epoch seconds, upper-case column names
    for unit, div in (("ms", 1_000_000), ("s", 1_000_000_000)):
        epoch = tmp_path / f"epoch_{unit}.csv"
        out = ref.reset_index(drop=True).rename(columns=str.upper)
        out.insert(0, "Open_Time", ref.index.asi8 // div)
        out.to_csv(epoch, index=False)
        pd.testing.assert_frame_equal(load_bars_file(epoch), ref, check_freq=False)
    # Yahoo: Date,Open,High,Low,Close,Adj Close,Volume with an offset at local midnight
    daily = load_bars_file(SAMPLE / "us_index_daily" / "GSPC.csv").iloc[:50]
    yahoo = pd.DataFrame(
        {
            "Date": [f"{d:%Y-%m-%d} 00:00:00-05:00" for d in daily.index],
            "Open": daily["open"].to_numpy(),
            "High": daily["high"].to_numpy(),
            "Low": daily["low"].to_numpy(),
            "Close": daily["close"].to_numpy(),
            "Adj Close": daily["close"].to_numpy() * 0.9,
            "Volume": daily["volume"].to_numpy(),
        }
    )
    path = tmp_path / "yahoo.csv"
    yahoo.to_csv(path, index=False)
    loaded = load_bars_file(path)
    pd.testing.assert_frame_equal(loaded, daily, check_freq=False)
    assert any("Adj Close" in n for n in loaded.attrs["report"]["notes"])


def test_parquet_with_datetime_index(tmp_path: Path) -> None:
    ref = load_bars_file(BTC).iloc[:300]
    path = tmp_path / "bars.parquet"
    ref.to_parquet(path)
    pd.testing.assert_frame_equal(load_bars_file(path), ref, check_freq=False)


def test_halt_rows_rejected_then_repaired() -> None:
    report = _rejection(DATA / "defects" / "012450.csv")
    assert report["error_counts"]["non_positive_price"] == 18
    first = next(e for e in report["errors"] if e["rule"] == "non_positive_price")
    assert first["line"] == 182 and first["ts"] == "2024-08-29"
    repaired = load_bars_file(DATA / "defects" / "012450.csv", repair=True)
    rep = repaired.attrs["report"]
    fixed = [r for r in rep["repairs"] if r["rule"] == "non_positive_price"]
    assert len(fixed) == 18 and all(r["action"] == "fixed" for r in fixed)
    halt = repaired.loc[pd.Timestamp("2024-08-29", tz="UTC")]
    assert halt["open"] == halt["high"] == halt["low"] == halt["close"] == 295411.0
    assert halt["volume"] == 0.0
    assert len(repaired) == 370


def test_ohlc_violation_named_with_its_row() -> None:
    report = _rejection(DATA / "defects" / "068270.csv")
    assert report["error_counts"] == {"high_below_open_close": 1}
    (err,) = report["errors"]
    assert (err["line"], err["ts"]) == (197, "2024-09-24")
    repaired = load_bars_file(DATA / "defects" / "068270.csv", repair=True)
    row = repaired.loc[pd.Timestamp("2024-09-24", tz="UTC")]
    assert row["high"] == max(row["open"], row["close"]) == 189050.0


@pytest.mark.parametrize(
    ("edit", "rule", "line"),
    [
        (lambda lines: lines.__setitem__(10, lines[10].replace(",72", ",", 1)), None, None),
        (
            lambda lines: lines.__setitem__(5, "2023-12-11,72000,,71000,71500,100"),
            "missing_value",
            6,
        ),
        (
            lambda lines: lines.__setitem__(7, "2023-12-13,72000,71000,70000,71500,100"),
            "high_below_open_close",
            8,
        ),
        (lambda lines: lines.insert(9, lines[8]), "duplicate_timestamp", 10),
        (lambda lines: lines.__setitem__(3, "not-a-date,1,2,0.5,1,1"), "timestamp_unparseable", 4),
        (
            lambda lines: lines.insert(12, "2023-12-06,71800,72100,71600,71700,1"),
            "out_of_order_timestamp",
            13,
        ),
        (
            lambda lines: lines.__setitem__(20, lines[20].rsplit(",", 1)[0] + ",-5"),
            "negative_volume",
            21,
        ),
        # Issue 14, defect 9: inf, 1e400 (read as inf), absurd and far-future values.
        (
            lambda lines: lines.__setitem__(4, "2023-12-08,inf,inf,71000,71500,100"),
            "non_finite_value",
            5,
        ),
        (
            lambda lines: lines.__setitem__(6, "2023-12-12,72000,1e400,71000,71500,100"),
            "non_finite_value",
            7,
        ),
        (
            lambda lines: lines.__setitem__(6, "2023-12-12,72000,1e300,71000,71500,100"),
            "implausible_value",
            7,
        ),
        (
            lambda lines: lines.append("2099-01-05,72000,73000,71000,71500,100"),
            "future_timestamp",
            372,
        ),
    ],
)
def test_corrupted_copies_rejected_with_row_report(tmp_path: Path, edit, rule, line) -> None:
    lines = SAMSUNG.read_text().splitlines()
    edit(lines)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    if rule is None:  # the first edit only changes a value; the file stays valid
        assert len(load_bars_file(path)) == 370
        return
    report = _rejection(path)
    assert report["ok"] is False
    assert any(e["rule"] == rule and e["line"] == line for e in report["errors"]), report["errors"]
    repaired = load_bars_file(path, repair=True).attrs["report"]
    assert repaired["repaired"] and repaired["repairs"]


def test_missing_columns_and_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "nocols.csv"
    path.write_text("date,price\n2024-01-02,1\n")
    report = _rejection(path)
    assert report["errors"][0]["rule"] == "required_columns"
    assert "open" in report["errors"][0]["message"]
    with pytest.raises(ValidationError):
        load_bars_file(tmp_path / "absent.csv")


def test_missing_sessions_are_warnings(tmp_path: Path) -> None:
    df = load_bars_file(SAMSUNG)
    gap = df.drop(
        index=[pd.Timestamp("2024-03-05", tz="UTC"), pd.Timestamp("2024-03-06", tz="UTC")]
    )
    path = tmp_path / "gap.csv"
    gap.to_csv(path)
    loaded = load_bars_file(path, exchange="KRX")
    missing = [
        w["ts"] for w in loaded.attrs["report"]["warnings"] if w["rule"] == "missing_session"
    ]
    assert missing == ["2024-03-05", "2024-03-06"]
    hourly = load_bars_file(BTC).iloc[:100].drop(index=load_bars_file(BTC).index[50:53])
    path = tmp_path / "gap_1h.csv"
    hourly.to_csv(path)
    (warning,) = load_bars_file(path, exchange="binance").attrs["report"]["warnings"]
    assert warning["count"] == 3 and warning["start"] == "2024-09-16T02:00:00+00:00"


def test_big_file_rejection_lists_and_counts(tmp_path: Path) -> None:
    df = load_bars_file(BTC)
    df.iloc[::7, df.columns.get_loc("high")] = np.nan
    path = tmp_path / "many.csv"
    df.to_csv(path)
    report = _rejection(path)
    assert report["error_counts"]["missing_value"] == len(range(0, len(df), 7))
    assert len(report["errors"]) <= 1000
