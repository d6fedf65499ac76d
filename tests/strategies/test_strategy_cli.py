"""Stored strategies by name (`qts paper --name/--update`, `qts optimize --save`) and
`qts strategy check` on a clean and a peeking strategy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from typer.testing import CliRunner

from qts.cli.main import app
from qts.core.types import Side
from qts.strategies import (
    OrderIntent,
    OrderStrategy,
    StrategyContext,
    TargetStrategy,
    create_strategy,
)
from qts.strategies.params import Param
from tests.strategies.sample import random_bars

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from qts.cli import common
    from qts.config import reset_settings_cache

    monkeypatch.setenv("QTS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("QTS_DATABASE_URL", raising=False)
    reset_settings_cache()
    common._migrated.clear()
    sample = str(SAMPLE / "kr_daily" / "005930.csv")
    r = runner.invoke(app, ["data", "import", sample, "--symbol", "005930", "--timeframe", "1d"])
    assert r.exit_code == 0, r.output
    yield tmp_path / "var"
    reset_settings_cache()
    common._migrated.clear()


def _stored(name: str) -> dict[str, Any] | None:
    from qts.cli.common import open_database
    from qts.services.trading.strategies import get_strategy_by_name

    db = open_database()
    try:
        stored = get_strategy_by_name(db, name)
        return stored.model_dump() if stored is not None else None
    finally:
        db.dispose()


def _paper(*extra: str) -> Any:
    args = ["paper", "--strategy", "sma_cross", "--symbol", "005930", "--replay", "--name", "x"]
    return runner.invoke(app, [*args, *extra])


def test_paper_with_changed_params_refuses_then_updates(data_dir: Path) -> None:
    r = _paper("--param", "fast=5", "--param", "slow=20")
    assert r.exit_code == 0, r.output
    first = _stored("x")
    assert first is not None and first["parameters"]["fast"] == 5
    orders_before = first["runtime_state"]["runner"]["bars_seen"]
    assert _paper("--param", "fast=5", "--param", "slow=20").exit_code == 0  # same: reused

    r = _paper("--param", "fast=7", "--param", "slow=40")
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert "param.fast: 5 -> 7" in out and "param.slow: 20 -> 40" in out and "--update" in out
    kept = _stored("x")
    assert kept is not None and kept["parameters"] == first["parameters"]
    assert kept["runtime_state"]["runner"]["bars_seen"] == orders_before

    r = _paper("--param", "fast=7", "--param", "slow=40", "--update")
    assert r.exit_code == 0, r.output
    changed = _stored("x")
    assert changed is not None and changed["id"] == first["id"]
    assert (changed["parameters"]["fast"], changed["parameters"]["slow"]) == (7, 40)

    r = _paper()  # no --param: the stored strategy's own parameters
    assert r.exit_code == 0, r.output
    again = _stored("x")
    assert again is not None and again["parameters"] == changed["parameters"]


def test_optimize_save_stores_the_best_params_and_refuses_to_overwrite(data_dir: Path) -> None:
    base = ["optimize", "--strategy", "sma_cross", "--symbol", "005930", "--timeframe", "1d"]
    base += ["--folds", "0"]
    r = runner.invoke(
        app, [*base, "--grid", "fast=3,5", "--grid", "slow=20,30", "--json", "--save", "tuned"]
    )
    assert r.exit_code == 0, r.output
    best = json.loads(r.stdout.strip().splitlines()[-1])["in_sample"]["best_params"]
    stored = _stored("tuned")
    assert stored is not None and stored["symbols"] == ["005930"] and stored["timeframe"] == "1d"
    assert stored["parameters"]["fast"] == best["fast"] in (3, 5)
    assert stored["parameters"]["slow"] == best["slow"] in (20, 30)

    other = [*base, "--grid", "fast=8", "--grid", "slow=50", "--save", "tuned"]
    r = runner.invoke(app, other)
    assert r.exit_code == 2 and "--update" in r.output and "param.fast" in r.output
    assert _stored("tuned") == stored
    r = runner.invoke(app, [*other, "--update"])
    assert r.exit_code == 0, r.output
    after = _stored("tuned")
    assert after is not None and after["id"] == stored["id"]
    assert (after["parameters"]["fast"], after["parameters"]["slow"]) == (8, 50)


class PeeksTomorrow(TargetStrategy):
    """Deliberately cheats: long when the next close is higher."""

    params: ClassVar[tuple[Param, ...]] = ()

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return (bars["close"].shift(-1) > bars["close"]).astype(float)


class OrdersOnTomorrow(OrderStrategy):
    """Deliberately cheats through the engine's private copy of the data: buys before a rise."""

    def on_bar(self, ctx: StrategyContext) -> None:
        everything = ctx._data["ASSET"]  # type: ignore[attr-defined]
        later = everything[everything.index > ctx.ts]
        if len(later) and later["close"].iloc[0] > everything.loc[ctx.ts, "close"]:
            ctx.submit(OrderIntent("ASSET", Side.BUY, 1.0))


def test_check_passes_clean_strategies_and_fails_peeking_ones(tmp_path: Path) -> None:
    csv = tmp_path / "bars.csv"
    bars = random_bars(300, seed=11)
    bars.rename_axis("timestamp").to_csv(csv)
    for name in ("sma_cross", "channel_breakout"):
        r = runner.invoke(app, ["strategy", "check", name, "--data", str(csv)])
        assert r.exit_code == 0, r.output
        assert "no look-ahead found" in r.output
    r = runner.invoke(app, ["strategy", "check", f"{__name__}:PeeksTomorrow", "--data", str(csv)])
    assert r.exit_code == 1
    out = " ".join(r.output.split())
    assert "looks ahead" in out and "1.0 with later bars present, 0.0 on the bars up to" in out


def test_check_catches_an_order_strategy_that_peeks() -> None:
    from qts.backtest.lookahead import check_lookahead

    bars = random_bars(200, seed=12)
    found = check_lookahead(OrdersOnTomorrow(), bars)
    assert found and found[0].symbol in ("ASSET", "*")
    assert (
        check_lookahead(create_strategy("channel_breakout", {"entry": 10, "exit": 5}), bars) == []
    )


def test_check_reports_bad_input_clearly(tmp_path: Path) -> None:
    r = runner.invoke(app, ["strategy", "check", "sma_cross"])
    assert r.exit_code == 2 and "--data" in r.output
    r = runner.invoke(app, ["strategy", "check", "nope", "--data", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "unknown strategy" in r.output
