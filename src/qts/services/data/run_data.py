"""The bars a backtest runs on: raw quotes and the symbols' corporate actions, read together.

The engine shows the strategy adjusted bars (or raw, per the run's `price_adjustment`) and fills
at the raw quotes; the CLI and the API both load a run's data here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from qts.db import Database
from qts.market.corporate_actions import CorporateAction
from qts.services.data.corporate_actions import actions_for
from qts.services.data.market_data import read_bars_with_history, stored_markets


@dataclass(slots=True)
class RunData:
    universe: dict[str, pd.DataFrame]  # raw bars, warm-up history included
    actions: dict[str, list[CorporateAction]] = field(default_factory=dict)
    exchanges: dict[str, str] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)


def read_run_data(
    db: Database, symbols: list[str], timeframe: str, start: Any, end: Any, warmup: int
) -> RunData:
    universe = {}
    for name in symbols:
        history, bars = read_bars_with_history(
            name, timeframe, start, end, warmup, db=db, prices="raw"
        )
        universe[name] = pd.concat([history, bars]) if len(history) else bars
    exchanges, currencies = stored_markets(db, symbols, timeframe)
    return RunData(universe, actions_for(db, symbols, exchanges), exchanges, currencies)
