"""Parameter declarations, validation errors and loading strategies by name, file or module."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from qts.core.errors import ValidationError
from qts.strategies import (
    Param,
    create_strategy,
    get_strategy_class,
    list_strategies,
    parse_param_pairs,
)
from qts.strategies.builtin import SmaCross
from tests.strategies.sample import random_bars


def test_params_from_cli_strings_are_typed() -> None:
    strategy = create_strategy(
        "sma_cross", parse_param_pairs(["fast=7", "slow=21", "allow_short=true"])
    )
    assert strategy.p == {"fast": 7, "slow": 21, "allow_short": True}
    rsi = create_strategy("rsi_reversion", {"lower": "25.5"})
    assert rsi.p["lower"] == 25.5 and rsi.p["period"] == 14


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": "ten"}, "expects int"),
        ({"fast": 2.5}, "expects int"),
        ({"allow_short": "maybe"}, "expects bool"),
        ({"fast": 0}, "out of range"),
        ({"slow": 10_000}, "out of range"),
        ({"fast": 30, "slow": 20}, "fast < slow"),
        ({"fats": 3}, "unknown parameter"),
    ],
)
def test_bad_params_raise_validation_error(params: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        create_strategy("sma_cross", params)


def test_unknown_strategy_and_bad_pairs() -> None:
    with pytest.raises(ValidationError, match="unknown strategy 'nope'"):
        get_strategy_class("nope")
    with pytest.raises(ValidationError, match="key=value"):
        parse_param_pairs(["fast"])
    with pytest.raises(ValidationError, match="not found"):
        get_strategy_class("/no/such/file.py:X")
    with pytest.raises(ValidationError, match="no class"):
        get_strategy_class("qts.strategies.builtin:Nope")
    with pytest.raises(ValidationError, match="not a qts Strategy"):
        get_strategy_class("qts.strategies.params:Param")


def test_empty_or_malformed_data_is_rejected() -> None:
    strategy = create_strategy("sma_cross", {"fast": 2, "slow": 3})
    empty = random_bars(10).iloc[:0]
    with pytest.raises(ValidationError, match="empty"):
        strategy.target_positions(empty)
    with pytest.raises(ValidationError, match="lack columns"):
        strategy.target_positions(random_bars(10).drop(columns=["close"]))
    with pytest.raises(ValidationError, match="sorted"):
        strategy.target_positions(random_bars(10).iloc[::-1])
    with pytest.raises(ValidationError, match="no symbols"):
        strategy.target_positions({})


def test_load_user_strategy_from_file_and_module(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        from typing import ClassVar
        import pandas as pd
        from qts.strategies import Param, TargetStrategy

        class AlwaysLong(TargetStrategy):
            name: ClassVar[str] = "always_long"
            params: ClassVar[tuple] = (Param("level", "float", 1.0, low=0.0, high=1.0),)

            def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
                return pd.Series(self.p["level"], index=bars.index)
        """
    )
    path = tmp_path / "mine.py"
    path.write_text(source)
    cls = get_strategy_class(f"{path}:AlwaysLong")
    strategy = cls(level="0.5")
    targets = strategy.target_positions(random_bars(5))
    assert targets["ASSET"].tolist() == [0.5] * 5
    assert get_strategy_class(f"{path}:AlwaysLong") is cls  # the file is imported once
    assert get_strategy_class("qts.strategies.builtin:SmaCross") is SmaCross
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ValidationError, match="boom"):
        get_strategy_class(f"{broken}:X")


def test_declarations_describe_types_defaults_and_ranges() -> None:
    described = {s["name"]: s for s in list_strategies()}
    fast = next(p for p in described["sma_cross"]["params"] if p["name"] == "fast")
    assert fast == {
        "name": "fast",
        "type": "int",
        "default": 10,
        "low": 1,
        "high": 500,
        "choices": None,
        "step": 5,
        "description": "fast SMA period",
    }
    assert Param("x", "int", 1, low=1, high=9, step=4).grid() == [1, 5, 9]
    assert Param("b", "bool", False).grid() == [False, True]
    assert Param("c", "str", "a", choices=("a", "b")).coerce("b") == "b"
    with pytest.raises(ValidationError, match="one of"):
        Param("c", "str", "a", choices=("a", "b")).coerce("z")


def test_sma_cross_enters_on_upward_cross_only() -> None:
    close = [10, 10, 10, 9, 8, 9, 11, 12, 13, 12, 10, 8, 7]
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC", name="ts")
    bars = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close}, index=index, dtype=float
    )
    long_only = create_strategy("sma_cross", {"fast": 2, "slow": 3})
    targets = long_only.target_positions(bars)["ASSET"].tolist()
    # fast(2) crosses above slow(3) at bar 5 (8.5 > 8.67? no) -> bar 6; crosses down at bar 10.
    assert targets == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0]
    reversing = create_strategy("sma_cross", {"fast": 2, "slow": 3, "allow_short": True})
    assert reversing.target_positions(bars)["ASSET"].tolist()[-4:] == [1, -1, -1, -1]


def test_params_read_as_typed_attributes_on_the_instance() -> None:
    from qts.strategies import create_strategy as make

    strategy = make("sma_cross", {"fast": "7", "slow": 40.0})
    assert strategy.params.fast == 7 and isinstance(strategy.params.fast, int)
    assert strategy.params.slow == 40 and isinstance(strategy.params.slow, int)
    assert strategy.params.allow_short is False
    assert [p.name for p in type(strategy).params] == ["fast", "slow", "allow_short"]
    with pytest.raises(AttributeError, match="unknown parameter 'fastt'"):
        _ = strategy.params.fastt
    breakout = make("channel_breakout", {"entry": 30})
    assert breakout.params.entry == 30 and breakout.warmup_bars == 30
    with pytest.raises(AttributeError, match="strategy instance"):
        _ = type(breakout).params.entry
