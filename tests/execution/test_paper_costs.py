"""A paper account prices its fills with the same run spec as a backtest: a replayed KRX
strategy pays the KRX preset's commission and the sell tax of each fill's date."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from qts.config import Settings
from qts.db.models import Fill
from qts.services.context import AppContext
from qts.services.data.market_data import import_file
from qts.services.trading.schemas import NewStrategy
from qts.services.trading.sessions import FeedSpec, TradingService
from qts.services.trading.strategies import create_strategy

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"
KRX_TAX = {2024: 0.0018, 2025: 0.0015}  # KOSPI transaction tax + rural tax, by sell year


def test_paper_replay_of_a_krx_symbol_pays_the_preset_fees(tmp_path: Path) -> None:
    from qts.db.migrate import upgrade

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    import_file(ctx.db, SAMPLE / "kr_daily" / "005930.csv", "005930", "1d")
    spec = {"strategy_class": "sma_cross", "parameters": {"fast": 5, "slow": 20}}
    new = NewStrategy.parse(name="krx-costs", **spec, symbols=["005930"], timeframe="1d")
    sid = create_strategy(ctx.db, new, "test").id
    trading = TradingService(ctx)
    trading.start(sid, "test", FeedSpec("replay"))
    deadline = time.time() + 60
    while trading.sessions[sid].thread.is_alive():
        assert time.time() < deadline
        time.sleep(0.1)
    assert trading.sessions[sid].error == ""
    with ctx.db.session() as s:
        fills = s.execute(select(Fill.ts, Fill.side, Fill.quantity, Fill.price, Fill.fee)).all()
    ctx.close()
    sells = [f for f in fills if f.side == "sell"]
    assert len(fills) > 8 and {pd.Timestamp(f.ts).year for f in sells} == {2024, 2025}
    for f in fills:
        assert float(f.quantity).is_integer()  # whole shares
        notional = f.quantity * f.price
        tax = KRX_TAX[pd.Timestamp(f.ts).year] if f.side == "sell" else 0.0
        assert f.fee == pytest.approx(notional * (0.00015 + tax), rel=1e-12)
