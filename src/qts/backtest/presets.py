"""Market presets of the run spec: the one set of defaults for cash, costs and sizing.

A run's symbols resolve to a market through their exchange (`qts.market.calendars`: XKRX ->
krx, XNYS/NASDAQ -> us, ccxt exchanges and 24/7 -> crypto); every run option left unset takes
that market's preset. `defaults_table()` renders the presets as the README's table (a test keeps
the two equal).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import date

from qts.backtest.costs import SellTaxSchedule
from qts.core.errors import ValidationError
from qts.market.calendars import ALWAYS_OPEN, calendar_name, crypto_quote, guess_exchange

# KRX sell-side tax on listed shares, by the fill's date in Seoul. KOSPI pays the securities
# transaction tax plus the 0.15% rural special tax; KOSDAQ pays a higher transaction tax and no
# rural tax, and the totals have been equal since 2019 (KONEX differs and is not modelled).
# Sources: Ministry of Economy and Finance decrees as reported by EY Tax Alert (2019-03-21: from
# 2019-06-03 KOSPI 0.10%+0.15%, KOSDAQ 0.25%), and Chosun Biz / Yonhap (2025-12-01: from
# 2026-01-01 KOSPI 0%->0.05% (+0.15%), KOSDAQ 0.15%->0.20%); 2021-2025 steps per the 2020 tax
# reform (KOSPI 0.08/0.05/0.03/0.00% + 0.15%).
KRX_SELL_TAX = SellTaxSchedule(
    steps=(
        (date(1900, 1, 1), 0.0030),
        (date(2019, 6, 3), 0.0025),
        (date(2021, 1, 1), 0.0023),
        (date(2023, 1, 1), 0.0020),
        (date(2024, 1, 1), 0.0018),
        (date(2025, 1, 1), 0.0015),
        (date(2026, 1, 1), 0.0020),
    ),
    timezone="Asia/Seoul",
)


@dataclass(frozen=True, slots=True)
class MarketPreset:
    """Values a run takes for every option it leaves unset (None)."""

    currency: str
    cash: float
    commission: float
    fixed_fee: float = 0.0
    min_fee: float = 0.0
    sell_tax: float | SellTaxSchedule = 0.0
    slippage_bps: float = 0.0
    slippage_vol_mult: float = 0.0
    lot_size: float = 1.0
    fractional: bool = False
    qty_step: float = 1e-8  # used only when fractional
    leverage: float = 1.0
    allow_short: bool = False


PRESET_FIELDS = tuple(f.name for f in fields(MarketPreset))

PRESETS: dict[str, MarketPreset] = {
    # KRX stocks: a typical online-broker commission (0.015%), the dated sell tax, whole shares;
    # 100M KRW buys a lot of any KOSPI large cap.
    "krx": MarketPreset("KRW", 100_000_000.0, 0.00015, sell_tax=KRX_SELL_TAX),
    # US stocks: commission-free retail brokers (SEC/FINRA pass-through fees are ignored).
    "us": MarketPreset("USD", 100_000.0, 0.0),
    # Crypto spot (Binance's base taker fee, 0.1%), quantities in steps of 1e-8.
    "crypto": MarketPreset("USDT", 100_000.0, 0.001, fractional=True),
}
MARKETS = tuple(PRESETS)
_BY_CALENDAR = {"XKRX": "krx", "XNYS": "us", ALWAYS_OPEN: "crypto"}


def market_of(exchange: str) -> str:
    """The preset market of an exchange name (XKRX, KOSPI, NASDAQ, binance, ...)."""
    market = _BY_CALENDAR.get(calendar_name(exchange) or "")
    if market is None:
        raise ValidationError(
            f"no market preset for exchange {exchange!r}; set market to one of {MARKETS}",
            details={"exchange": exchange, "markets": list(MARKETS)},
        )
    return market


def symbol_currency(symbol: str, market: str) -> str:
    """A symbol's currency when nothing stored says: a crypto pair's quote, else the market's."""
    if market == "crypto":
        return crypto_quote(symbol) or PRESETS[market].currency
    return PRESETS[market].currency


# The run's market when its symbols span markets and it has this base currency: its preset
# gives the run's options (cash, sizing) and the costs of its own symbols; the symbols of the
# other markets pay their own market's costs (`ResolvedMarket.symbol_markets`).
HOME_MARKETS = {"KRW": "krx", "USD": "us", "USDT": "crypto"}


@dataclass(frozen=True, slots=True)
class ResolvedMarket:
    """What a run's symbols resolve to: the preset market, the base currency, the symbols
    priced in another currency (converted at FX rates before the engines run) and the
    quantity unit of symbols from a fractional market in a whole-unit run, and the market of
    each symbol from another market than the run's (it pays that market's costs)."""

    market: str
    currency: str
    symbol_currencies: dict[str, str]
    units: dict[str, float]
    symbol_markets: dict[str, str]


def resolve_market(
    symbols: list[str],
    market: str,
    currency: str | None,
    exchanges: dict[str, str],
    currencies: dict[str, str],
    fx_pairs: Collection[str] | None = None,
    fx_checked: bool = False,
) -> ResolvedMarket:
    """Market, base currency and FX needs of a run. Symbols in another currency than the base
    need its FX pair (either direction) among `fx_pairs`, the pairs with stored rates, unless
    `fx_checked` (a spec resolved earlier, its data already converted). Symbols of several
    markets need a base currency: the run takes its home market, and each symbol of another
    market pays that market's costs."""
    if market == "auto":
        if not symbols:
            raise ValidationError("no symbols to resolve the market from; set market")
        by_symbol = {s: market_of(exchanges.get(s) or guess_exchange(s)) for s in symbols}
    else:
        by_symbol = {s: market for s in symbols}
    money = {s: currencies.get(s) or symbol_currency(s, by_symbol[s]) for s in symbols}
    if currency is None and len(set(money.values())) > 1:
        raise ValidationError(
            "mixed-currency run: set a base currency (currency=KRW) and store the FX rates "
            "to convert the others: " + ", ".join(f"{s}={c}" for s, c in sorted(money.items())),
            details={"currencies": money},
        )
    markets = sorted(set(by_symbol.values()))
    resolved = markets[0] if len(markets) == 1 else market
    base = currency or next(iter(money.values()), None) or PRESETS[resolved].currency
    foreign = {s: c for s, c in money.items() if c != base}
    if not fx_checked:
        _check_fx(foreign, base, fx_pairs)
    units: dict[str, float] = {}
    others: dict[str, str] = {}
    if len(markets) > 1:  # the base currency's home market runs them, each pays its own costs
        resolved = HOME_MARKETS.get(base, "")
        if currency is None or not resolved:
            raise ValidationError(
                f"a run trades one market; these symbols span {markets}:"
                " run them apart, or give a base currency with a market preset "
                f"({', '.join(HOME_MARKETS)}) to run them as one portfolio",
                details={"markets": by_symbol},
            )
        units = {
            s: PRESETS[m].qty_step
            for s, m in by_symbol.items()
            if PRESETS[m].fractional and not PRESETS[resolved].fractional
        }
        others = {s: m for s, m in by_symbol.items() if m != resolved}
    return ResolvedMarket(resolved, base, foreign, units, others)


def _check_fx(foreign: dict[str, str], base: str, fx_pairs: Collection[str] | None) -> None:
    from qts.market.fx import conversion_pair, pair_available

    needed = {conversion_pair(c, base) for c in foreign.values()}
    missing = sorted(p.name for p in needed if not pair_available(p, fx_pairs or ()))
    if missing:
        raise ValidationError(
            f"mixed-currency run in {base} needs FX rates; none stored for "
            f"{', '.join(missing)} ("
            + ", ".join(f"{s}={c}" for s, c in sorted(foreign.items()))
            + f"): store them with qts data fx fetch --pair {missing[0]} (or fx import)",
            details={"missing_fx_pairs": missing, "currencies": foreign, "currency": base},
        )


def defaults_table(common: dict[str, object] | None = None) -> str:
    """The presets as a Markdown table (the README's "Run options and market presets");
    `common` adds the options whose default does not depend on the market."""
    header = "| option | " + " | ".join(MARKETS) + " |"
    lines = [header, "|---|" + "---|" * len(MARKETS)]
    for name in PRESET_FIELDS:
        cells = [_cell(name, getattr(PRESETS[m], name)) for m in MARKETS]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    for name, value in (common or {}).items():
        lines.append(f"| `{name}` | " + " | ".join([_cell(name, value)] * len(MARKETS)) + " |")
    return "\n".join(lines)


def _cell(name: str, value: object) -> str:
    if isinstance(value, SellTaxSchedule):
        return "dated: " + ", ".join(
            f"{rate * 100:.2f}%" + ("" if day.year == 1900 else f" from {day.isoformat()}")
            for day, rate in value.steps
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == {}:
        return "-"
    if name == "cash" and isinstance(value, float):
        return f"{value:,.0f}"
    if name in ("commission", "sell_tax") and isinstance(value, float):
        return f"{value * 100:g}%"
    return f"{value:,g}" if isinstance(value, float) else str(value)
