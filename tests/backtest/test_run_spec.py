"""The run spec: market presets resolved from the symbols, the dated KRX sell tax, overrides,
and refusals (mixed currencies, unknown markets, bad values)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.presets import KRX_SELL_TAX
from qts.core.errors import ValidationError
from qts.core.types import Side
from qts.strategies.base import TargetStrategy
from tests.backtest.test_engine import frame


@pytest.mark.parametrize(
    ("sell_day", "rate"),
    [("2024-07-01", 0.0018), ("2025-07-01", 0.0015), ("2026-07-01", 0.0020)],
)
def test_krx_sell_tax_follows_the_date_of_the_sell(sell_day: str, rate: float) -> None:
    costs = BacktestConfig().resolve(["005930"]).costs
    assert costs.fee(Side.SELL, 10, 50_000.0, sell_day) == pytest.approx(500_000 * (0.00015 + rate))
    assert costs.fee(Side.BUY, 10, 50_000.0, sell_day) == pytest.approx(500_000 * 0.00015)


def test_the_tax_changes_at_midnight_in_seoul() -> None:
    # 2024-12-31 15:30 UTC is 2025-01-01 00:30 in Seoul: the 2025 rate.
    assert KRX_SELL_TAX.rate_at("2024-12-31T14:30:00+00:00") == 0.0018
    assert KRX_SELL_TAX.rate_at("2024-12-31T15:30:00+00:00") == 0.0015


class _InAndOut(TargetStrategy):
    name = "in_and_out"

    def target_positions(self, data):  # type: ignore[no-untyped-def]
        bars = data["005930"]
        targets = bars[["close"]].rename(columns={"close": "005930"}) * 0.0
        targets.iloc[0] = 1.0  # buy at the 2nd bar, sell at the 3rd (2024 -> 2025 below)
        return targets


@pytest.mark.parametrize("engine", ["vectorized", "event"])
def test_both_engines_charge_the_sell_tax_of_the_fill_date(engine: str) -> None:
    bars = frame([50_000, 50_000, 60_000], [50_000, 50_000, 60_000])
    bars.index = pd.DatetimeIndex(["2024-12-27", "2024-12-30", "2025-01-02"], tz="UTC", name="ts")
    result = run_backtest(
        _InAndOut(), {"005930": bars}, BacktestConfig(cash=1_000_000, engine=engine)
    )
    fills = result.fills
    assert fills["quantity"].tolist() == [19, -19]  # whole shares: 1e6 / (50000 x 1.00015)
    assert fills["fee"].iloc[1] == pytest.approx(19 * 60_000 * (0.00015 + 0.0015))


def test_explicit_options_override_the_preset() -> None:
    spec = BacktestConfig(commission=0.0005, sell_tax=0.0, cash=5e6, lot_size=10).resolve(
        ["005930"]
    )
    assert (spec.market, spec.currency) == ("krx", "KRW")
    assert spec.costs.fee(Side.SELL, 10, 1000.0, "2024-01-05") == pytest.approx(5.0)
    assert spec.sizer.unit("005930") == 10 and spec.cash == 5e6
    crypto = BacktestConfig().resolve(["BTC/USDT"])
    assert crypto.sizer.fractional and crypto.sizer.unit("BTC/USDT") == 1e-8
    assert crypto.costs.commission == 0.001 and crypto.currency == "USDT"
    us = BacktestConfig().resolve(["AAPL"], exchanges={"AAPL": "NASDAQ"})
    assert (us.market, us.currency, us.costs.commission, us.sizer.fractional) == (
        "us", "USD", 0.0, False,
    )  # fmt: skip
    # A resolved spec resolves to itself.
    assert spec.resolve(["005930"]) == spec


def test_shorting_is_decided_in_one_place() -> None:
    assert BacktestConfig().resolve(["X"], strategy_params={"allow_short": True}).allow_short
    assert not BacktestConfig().resolve(["X"], strategy_params={}).allow_short
    refused = BacktestConfig(allow_short=False)
    assert not refused.resolve(["X"], strategy_params={"allow_short": True}).allow_short


def test_mixed_currencies_and_markets_are_refused() -> None:
    with pytest.raises(ValidationError, match="mixed-currency run: set a base currency"):
        BacktestConfig().resolve(["005930", "AAPL"])
    with pytest.raises(ValidationError, match="mixed-currency run: set a base currency"):
        BacktestConfig().resolve(["BTC/USDT", "ETH/BTC"])
    with pytest.raises(ValidationError, match="mixed-currency"):
        BacktestConfig().resolve(["X", "Y"], currencies={"X": "EUR", "Y": "USD"})
    with pytest.raises(ValidationError, match="one market"):
        BacktestConfig().resolve(["005930", "BTC/KRW"])
    # A base currency converts the others, once their FX rates are stored (either direction).
    with pytest.raises(ValidationError, match="none stored for USD/KRW") as refused:
        BacktestConfig(currency="KRW").resolve(["005930", "AAPL"])
    assert refused.value.details["missing_fx_pairs"] == ["USD/KRW"]  # type: ignore[index]
    spec = BacktestConfig(currency="KRW").resolve(["005930", "AAPL"], fx_pairs=["KRW/USD"])
    assert (spec.market, spec.currency, spec.cash, spec.fx_pairs) == (
        "krx",
        "KRW",
        1e8,
        ["USD/KRW"],
    )
    assert spec.symbol_currencies == {"AAPL": "USD"}
    assert spec.resolve(["005930", "AAPL"]) == spec  # resolved: checked once, stays as it is
    # Only US stocks in KRW: the US preset's costs, the KRW home market's cash.
    us = BacktestConfig(currency="KRW").resolve(["AAPL"], fx_pairs=["USD/KRW"])
    assert (us.market, us.cash, us.costs.commission) == ("us", 1e8, 0.0)
    # KRX stocks and KRW crypto in one KRW run: the crypto keeps its fractional unit.
    both = BacktestConfig(currency="KRW").resolve(["005930", "BTC/KRW"])
    assert both.market == "krx" and both.sizer.unit("BTC/KRW") == 1e-8
    assert both.sizer.unit("005930") == 1.0
    with pytest.raises(ValidationError, match="set cash: no market preset holds EUR"):
        BacktestConfig(currency="EUR").resolve(["AAPL"], fx_pairs=["EUR/USD"])


def test_unknown_markets_and_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown market 'nyse'"):
        BacktestConfig(market="nyse")
    with pytest.raises(ValidationError, match="no market preset for exchange 'XLON'"):
        BacktestConfig().resolve(["VOD"], exchanges={"VOD": "XLON"})
    with pytest.raises(ValidationError, match="commission must be a finite number >= 0"):
        BacktestConfig(commission=-0.001)
    with pytest.raises(ValidationError, match="sell_tax is a fraction"):
        BacktestConfig(sell_tax=0.2)
    with pytest.raises(ValidationError, match="currency must be a code"):
        BacktestConfig(currency="won")
    with pytest.raises(ValidationError, match="not resolved"):
        _ = BacktestConfig().costs


def test_the_readme_table_is_the_codes_defaults() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("<!-- run-options-table")
    table = readme[readme.index("\n", start) + 1 : readme.index("<!-- /run-options-table -->")]
    assert table.strip() == BacktestConfig.defaults_table()
    assert "| `commission` | 0.015% | 0% | 0.1% |" in table
    assert "0.15% from 2025-01-01, 0.20% from 2026-01-01" in table
