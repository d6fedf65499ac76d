"""Searches fit the data: the declared grid is cut to values the window can warm up and a huge
one is refused with what to do instead; Optuna samples only fitting values; walk-forward folds
that make no trade out of sample are flagged and left out of the stitched result; the CLI
prints a table of rounded figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
import talib
from typer.testing import CliRunner

from qts.backtest import BacktestConfig
from qts.backtest.optimize import (
    default_grid,
    fitted_high,
    grid_search,
    optuna_search,
    walk_forward,
)
from qts.cli.main import app
from qts.core.errors import ValidationError
from qts.market.synthetic import generate_bars
from qts.strategies import get_strategy_class
from qts.strategies.base import TargetStrategy
from qts.strategies.params import Param

SMA = get_strategy_class("sma_cross")
SAMPLE = Path(__file__).resolve().parents[2] / "src/qts/sample_data/kr_daily/005930.csv"


def _bars(n: int) -> pd.DataFrame:
    # Starting early enough that even 3,000 daily bars end in the past (future bars are refused).
    return generate_bars(["SYN"], n, "1d", start="2010-01-01", seed=3)["SYN"]


def test_declared_ranges_are_cut_to_a_third_of_the_window() -> None:
    slow = next(p for p in SMA.params if p.name == "slow")
    fast = next(p for p in SMA.params if p.name == "fast")
    assert (slow.high, fitted_high(SMA, slow, {}, 900)) == (2000, 299)  # warm-up slow + 1 <= 300
    assert fitted_high(SMA, fast, {}, 900) == 300
    grid = default_grid(SMA, {}, 900)
    assert max(grid["slow"]) == 292 and max(grid["fast"]) == 296 and "allow_short" not in grid


def test_a_huge_declared_grid_is_refused_with_what_to_do_instead() -> None:
    with pytest.raises(ValidationError) as caught:
        grid_search(SMA, _bars(3000), BacktestConfig(cash=1e6))
    message = caught.value.message
    assert message.startswith("the declared grid has 10,000 combinations (fast 100 x slow 100)")
    assert "--grid name=v1,v2" in message and "--method optuna" in message


def test_optuna_samples_only_values_the_data_can_warm_up() -> None:
    result = optuna_search(SMA, _bars(900), BacktestConfig(cash=1e6), n_trials=25)
    assert result.trials and all(t["params"]["slow"] + 1 <= 300 for t in result.trials)


class _VolumeGated(TargetStrategy):
    """Long above its SMA, but only on bars that traded (volume > 0)."""

    name: ClassVar[str] = "volume_gated"
    params: ClassVar[tuple[Param, ...]] = (Param("period", "int", 3, low=2, high=10),)

    @property
    def warmup_bars(self) -> int:
        return int(self.p["period"])

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        close = bars["close"].to_numpy(dtype=float)
        above = close > talib.SMA(close, timeperiod=self.p["period"])
        return pd.Series((above & (bars["volume"] > 0).to_numpy()).astype(float), bars.index)


def test_folds_without_trades_are_flagged_and_left_out_of_the_stitched_result() -> None:
    bars = _bars(300)
    bars.loc[bars.index[200:], "volume"] = 0.0  # the last block (fold 1's test) never trades
    wf = walk_forward(
        _VolumeGated, bars, BacktestConfig(cash=1e6), folds=2, grid={"period": [2, 4]}
    )
    folds = wf.to_dict()["folds"]
    assert [f["traded"] for f in folds] == [True, False] and folds[1]["oos_fills"] == 0
    assert wf.folds_without_trades == [1]
    assert wf.out_of_sample["total_return"] == pytest.approx(folds[0]["oos_total_return"])


def test_cli_refuses_the_huge_default_grid(tmp_path: Path, fresh_data_dir: Path) -> None:
    file = tmp_path / "SYN.csv"
    _bars(3000).to_csv(file, index_label="ts")
    r = CliRunner().invoke(
        app, ["optimize", "--strategy", "sma_cross", "--data", str(file), "--folds", "0"]
    )
    assert r.exit_code == 2 and "--method optuna" in r.stderr and "Traceback" not in r.output


def test_cli_prints_a_table_of_rounded_figures(fresh_data_dir: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["optimize", "--strategy", "sma_cross", "--data", str(SAMPLE), "--grid", "fast=5,10",
         "--grid", "slow=20,30", "--folds", "2"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "walk-forward (sharpe)" in r.stdout and "stitched out-of-sample:" in r.stdout
    assert "fast=5 slow=20" in r.stdout or "fast=10 slow=20" in r.stdout or "slow=30" in r.stdout
    assert not re.search(r"\d\.\d{6,}", r.stdout) and "{" not in r.stdout  # no raw floats/dicts
    assert re.search(r"total_return -?\d+\.\d\d%", r.stdout)
    assert "optimize grid: 8/8 (100%)" in r.stderr  # progress, one line when not a terminal
