"""A KRW portfolio of a KRX and a US stock: each symbol pays its own market's costs.

005930 pays the KRX commission (0.015%) and, on sells, the dated KRX tax (0.20% in 2023, 0.18%
in 2024); AAPL, priced in KRW at a per-bar USD/KRW rate, pays the US preset's costs (none by
default; with a patched preset, its minimum fee in USD converted at the rate of the fill's bar)
and no KRX tax. Both engines fill identically; a single-market run's arrays are unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.presets import PRESETS
from qts.core.errors import ValidationError
from qts.strategies import TargetStrategy
from tests.strategies.sample import load_sample

SYMBOLS = ["005930", "AAPL"]
EXCHANGES = {"005930": "XKRX", "AAPL": "XNAS"}
# Decided at these bars (filled at the next open): in, out in 2023, in again, out in 2024.
SCHEDULE = (("2023-12-05", 0.45), ("2023-12-19", 0.0), ("2024-02-01", 0.45), ("2024-06-03", 0.0))


class InAndOut(TargetStrategy):
    """45% of equity in each symbol, flat, in again, flat (`SCHEDULE`)."""

    name: ClassVar[str] = "in_and_out"

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        target = pd.Series(np.nan, index=bars.index)
        for day, value in SCHEDULE:
            target[target.index >= pd.Timestamp(day, tz="UTC")] = value
        return target.ffill().fillna(0.0) * 2  # x 1/2: equal weight of two symbols


def _usd_krw(index: pd.DatetimeIndex) -> pd.Series:
    """A made-up rate that moves every bar (so a wrong bar's rate shows)."""
    return pd.Series(1300.0 + 50.0 * np.sin(np.arange(len(index)) / 7.0), index=index)


def _krw_universe() -> tuple[dict[str, pd.DataFrame], pd.Series]:
    krx = load_sample("kr_daily/005930.csv").loc[:"2024-07-30"]
    aapl = load_sample("us_daily/AAPL.csv").loc["2023-12-05":]
    rate = _usd_krw(aapl.index)
    converted = aapl.copy()
    for column in ("open", "high", "low", "close"):
        converted[column] = aapl[column] * rate
    return {"005930": krx, "AAPL": converted}, rate


def _config(**options: object) -> BacktestConfig:
    return BacktestConfig(currency="KRW", **options).resolve(  # type: ignore[arg-type]
        SYMBOLS, EXCHANGES, {"AAPL": "USD"}, fx_pairs=["USD/KRW"]
    )


def _runs(config: BacktestConfig, fx: dict[str, pd.Series]) -> dict[str, pd.DataFrame]:
    data, _rate = _krw_universe()
    out = {}
    for engine in ("vectorized", "event"):
        result = run_backtest(InAndOut(), data, replace(config, engine=engine), fx_rates=fx)
        out[engine] = result.fills
    np.testing.assert_array_equal(out["vectorized"].to_numpy(), out["event"].to_numpy())
    return out


def test_a_mixed_spec_names_the_other_markets_symbols_and_their_costs() -> None:
    config = _config()
    assert (config.market, config.currency, config.symbol_markets) == ("krx", "KRW", {"AAPL": "us"})
    us, krx = config.costs_for("AAPL"), config.costs_for("005930")
    assert (us.commission, us.sell_tax, us.sell_tax_schedule) == (0.0, 0.0, None)
    assert krx.commission == 0.00015 and krx.sell_tax_at(pd.Timestamp("2024-03-04")) == 0.0018
    out = config.to_dict()
    assert out["symbol_markets"] == {"AAPL": "us"}
    assert out["symbol_costs"]["AAPL"] == {
        "commission": 0.0, "fixed_fee": 0.0, "min_fee": 0.0, "sell_tax": 0.0,
    }  # fmt: skip
    # A single-market run has none, and a resolved spec keeps what it had.
    assert BacktestConfig().resolve(["005930", "000660"]).symbol_markets == {}
    assert config.resolve(SYMBOLS).symbol_markets == {"AAPL": "us"}
    with pytest.raises(ValidationError, match="market of AAPL"):
        BacktestConfig(symbol_markets={"AAPL": "nyse"})


def test_each_symbol_pays_its_own_markets_costs_in_both_engines() -> None:
    _data, rate = _krw_universe()
    fills = _runs(_config(), {"AAPL": rate})["event"]
    assert list(fills.groupby("symbol").size()) == [4, 4]  # in, out, in, out: both symbols
    notional = fills["quantity"].abs() * fills["price"]
    sells = fills["quantity"] < 0
    samsung = (fills["symbol"] == "005930").to_numpy()
    # KRX: 0.015% commission on every fill, plus the tax of the sell's date in Seoul.
    tax = np.where(fills["ts"] < pd.Timestamp("2024-01-01", tz="UTC"), 0.0020, 0.0018)
    expected = notional * (0.00015 + np.where(sells, tax, 0.0))
    np.testing.assert_allclose(fills["fee"][samsung], expected[samsung], rtol=1e-12)
    assert sorted(set(tax[samsung & sells.to_numpy()])) == [0.0018, 0.0020]
    # AAPL: the US preset's costs, no commission and no KRX sell tax.
    assert (fills["fee"][~samsung] == 0.0).all()


def test_a_fee_amount_in_dollars_is_converted_at_the_fill_bars_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(PRESETS, "us", replace(PRESETS["us"], commission=0.0002, min_fee=7.0))
    _data, rate = _krw_universe()
    config = _config()
    with pytest.raises(ValidationError, match="AAPL pays fee amounts in USD"):
        run_backtest(InAndOut(), _krw_universe()[0], config)
    fills = _runs(config, {"AAPL": rate})["vectorized"]
    aapl = fills[fills["symbol"] == "AAPL"]
    usd_krw = rate.reindex(aapl["ts"]).to_numpy()
    notional = (aapl["quantity"].abs() * aapl["price"]).to_numpy()
    # max(0.02% of the KRW notional, 7 USD at that bar's rate); no tax on the sells.
    np.testing.assert_allclose(aapl["fee"], np.maximum(0.0002 * notional, 7.0 * usd_krw))
    minimum = 7.0 * usd_krw > 0.0002 * notional
    assert minimum.tolist() == [True, True, False, False]  # both sides of the max are hit
