"""The sample prices shipped in `qts/sample_data`, loaded on a fresh installation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from qts.db import Database
from qts.db.repositories.market import MarketRepository
from qts.market.files import load_bars_with_report
from qts.services.data.market_data import resolve_database

SAMPLE_SETS = {
    # folder: (exchange, timeframe, asset_class, currency, tick, step)
    "kr_daily": ("XKRX", "1d", "stock", "KRW", 1.0, 1.0),
    "crypto_1h": ("binance", "1h", "crypto", "USDT", 0.01, 0.00001),
    "us_index_daily": ("XNYS", "1d", "index", "USD", 0.01, 1.0),
    "us_daily": ("XNAS", "1d", "stock", "USD", 0.01, 1.0),
}


def sample_data_files() -> list[tuple[Path, str, str, str]]:
    """(file, exchange, symbol, timeframe) for each file shipped in qts/sample_data."""
    root = Path(str(resources.files("qts") / "sample_data"))
    out = []
    for folder, (exchange, timeframe, *_rest) in SAMPLE_SETS.items():
        for path in sorted((root / folder).glob("*.csv")):
            stem = path.stem
            symbol = stem.replace("_", "/") if folder.startswith("crypto") else stem
            symbol = "^" + symbol if folder == "us_index_daily" else symbol
            out.append((path, exchange, symbol, timeframe))
    return out


def load_sample_data(db: Database | None = None) -> dict[str, Any]:
    """Load the shipped sample prices (idempotent: datasets already complete are skipped)."""
    database = resolve_database(db)
    loaded, skipped = [], []
    for path, exchange, symbol, timeframe in sample_data_files():
        folder = path.parent.name
        _ex, _tf, asset_class, currency, tick, step = SAMPLE_SETS[folder]
        bars, _report = load_bars_with_report(path)
        with database.session() as s:
            repo = MarketRepository(s)
            if repo.count_bars(exchange, symbol, timeframe) >= len(bars):
                skipped.append(f"{exchange}:{symbol}:{timeframe}")
                continue
            repo.upsert_symbol(
                exchange,
                symbol,
                asset_class=asset_class,
                currency=currency,
                tick_size=tick,
                quantity_step=step,
                lot_size=step,
            )
            repo.upsert_bars(exchange, symbol, timeframe, bars)
            loaded.append(f"{exchange}:{symbol}:{timeframe}")
    return {"loaded": loaded, "skipped": skipped}
