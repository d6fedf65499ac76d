"""The run spec: cash, costs, sizing and fill timing of one run, shared by every entry point.

The CLI, the API, paper accounts and ML evaluation all build a `BacktestConfig`. Options left
None take the preset of the run's market (`qts.backtest.presets`), resolved from the symbols'
exchanges by `resolve()`; the engines run on a resolved spec. Explicit options always win.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from qts.backtest.costs import CostModel, SellTaxSchedule, SlippageModel
from qts.backtest.fills import FillModel
from qts.backtest.presets import HOME_MARKETS, MARKETS, PRESET_FIELDS, PRESETS, resolve_market
from qts.backtest.sizing import Sizer
from qts.core.errors import ValidationError

FILL_AT = ("next_open", "close")
REBALANCE = ("on_change", "every_bar")
ASSET_CLASSES = ("auto", "stock", "crypto")
ENGINES = ("auto", "vectorized", "event")
PRICE_ADJUSTMENTS = ("adjusted", "raw")


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """One run's options; None means "the market preset's value".

    `market`: "auto" (from the symbols' exchanges) or krx, us, crypto. `currency`: the run's
    base currency: cash, fills, fees and equity are in it; a symbol trading in another currency
    (`symbol_currencies`, filled in by `resolve` from stored or guessed currencies) is priced
    in it at the FX rate in force at each bar, which needs that pair's rates stored
    (`qts.market.fx`). `sell_tax` None: the market's (dated) tax.
    `symbol_markets`: symbols from another market than the run's (filled in by `resolve` for
    a run spanning markets): each pays its own market's preset costs and slippage (fixed and
    minimum fees in that market's currency, converted at the rate in force); the run's cost
    and slippage options apply to the run's market's symbols.
    `fill_at`: "next_open" (decided at t, filled at t+1's open) or "close" (t's close).
    `rebalance`: "on_change" trades a symbol only when its target changes; "every_bar" trades
    back to the target fraction at every bar.
    `asset_class`/`timeframe`/`periods_per_year` drive annualization (inferred when not given).
    `engine`: "auto" (vectorized for target strategies, event-driven for order strategies),
    "vectorized" or "event".
    `price_adjustment`: what strategies see when corporate actions are known: "adjusted"
    (split- and dividend-adjusted bars) or "raw"; fills are at raw prices either way.
    """

    market: str = "auto"
    currency: str | None = None
    cash: float | None = None
    commission: float | None = None
    fixed_fee: float | None = None
    min_fee: float | None = None
    sell_tax: float | None = None
    slippage_bps: float | None = None
    slippage_vol_mult: float | None = None
    slippage_vol_window: int = 20
    lot_size: float | None = None
    lot_sizes: dict[str, float] = field(default_factory=dict)  # per-symbol lot overrides
    symbol_currencies: dict[str, str] = field(default_factory=dict)  # those not in `currency`
    symbol_markets: dict[str, str] = field(default_factory=dict)  # those not in `market`
    fractional: bool | None = None
    qty_step: float | None = None
    leverage: float | None = None
    allow_short: bool | None = None
    fill_at: str = "next_open"
    rebalance: str = "on_change"
    asset_class: str = "auto"
    timeframe: str | None = None
    periods_per_year: float | None = None
    engine: str = "auto"
    price_adjustment: str = "adjusted"

    def __post_init__(self) -> None:
        if self.market not in ("auto", *MARKETS):
            raise ValidationError(
                f"unknown market {self.market!r}; use auto or one of {MARKETS}",
                details={"market": self.market},
            )
        if self.currency is not None and not re.fullmatch(r"[A-Z]{3,5}", self.currency):
            raise ValidationError(
                f"currency must be a code like KRW or USDT, got {self.currency!r}"
            )
        for symbol, code in self.symbol_currencies.items():
            if not re.fullmatch(r"[A-Z]{3,5}", str(code)):
                raise ValidationError(f"currency of {symbol} must be a code like USD, got {code!r}")
        for symbol, name in self.symbol_markets.items():
            if name not in MARKETS:
                raise ValidationError(f"market of {symbol} must be one of {MARKETS}, got {name!r}")
        if self.cash is not None and not self.cash > 0:
            raise ValidationError(f"cash must be > 0, got {self.cash}")
        if self.fill_at not in FILL_AT:
            raise ValidationError(f"fill_at must be one of {FILL_AT}, got {self.fill_at!r}")
        if self.rebalance not in REBALANCE:
            raise ValidationError(f"rebalance must be one of {REBALANCE}")
        if self.asset_class not in ASSET_CLASSES:
            raise ValidationError(f"asset_class must be one of {ASSET_CLASSES}")
        if self.engine not in ENGINES:
            raise ValidationError("engine must be auto, vectorized or event")
        if self.price_adjustment not in PRICE_ADJUSTMENTS:
            raise ValidationError(f"price_adjustment must be one of {PRICE_ADJUSTMENTS}")
        if self.periods_per_year is not None and not self.periods_per_year > 0:
            raise ValidationError("periods_per_year must be > 0")
        self._parts(partial=True)  # the cost, slippage and sizing models check their values

    # Resolution ---------------------------------------------------------------------------------
    @property
    def resolved(self) -> bool:
        return self.market != "auto" and all(
            getattr(self, n) is not None
            for n in PRESET_FIELDS
            if n not in ("sell_tax", "allow_short")  # both have a meaning when None
        )

    def resolve(
        self,
        symbols: list[str],
        exchanges: Mapping[str, str] | None = None,
        currencies: Mapping[str, str] | None = None,
        strategy_params: Mapping[str, Any] | None = None,
        fx_pairs: Collection[str] | None = None,
    ) -> BacktestConfig:
        """This spec with every unset option taken from the symbols' market preset.

        `exchanges`/`currencies` give what stored data knows per symbol (else guessed from the
        name; `symbol_currencies` overrides both); a strategy declaring `allow_short=True` opts
        into shorting unless the run says otherwise. Symbols in another currency than the base
        need their FX pair among `fx_pairs` (pairs with stored rates, either direction); a
        resolved spec was checked already (its data is converted by then). Symbols of several
        markets need a base currency: the run takes its home market's preset, and the symbols
        of the other markets their own market's costs (`symbol_markets`).
        """
        found = resolve_market(
            list(symbols),
            self.market,
            self.currency,
            dict(exchanges or {}),
            {**(currencies or {}), **self.symbol_currencies},
            fx_pairs,
            fx_checked=self.resolved,
        )
        market, currency = found.market, found.currency
        preset = PRESETS[market]
        values: dict[str, Any] = {
            name: getattr(preset, name) if getattr(self, name) is None else getattr(self, name)
            for name in PRESET_FIELDS
            if name not in ("currency", "sell_tax", "allow_short")
        }
        if self.cash is None and preset.currency != currency:
            home = HOME_MARKETS.get(currency)
            if home is None:
                raise ValidationError(f"set cash: no market preset holds {currency}")
            values["cash"] = PRESETS[home].cash
        values["symbol_currencies"] = found.symbol_currencies
        values["lot_sizes"] = {**found.units, **self.lot_sizes}
        values["symbol_markets"] = {**found.symbol_markets, **self.symbol_markets}
        if self.sell_tax is None and not isinstance(preset.sell_tax, SellTaxSchedule):
            values["sell_tax"] = preset.sell_tax
        if self.allow_short is None and strategy_params is not None:
            # The one place shorting is decided: the run's option, else the strategy's own
            # allow_short=True (its explicit opt-in), else the preset.
            values["allow_short"] = strategy_params.get("allow_short") is True or preset.allow_short
        return replace(self, market=market, currency=currency, **values)

    @property
    def fx_pairs(self) -> list[str]:
        """The FX pairs that convert this run's foreign symbols into its currency."""
        return sorted({f"{c}/{self.currency}" for c in self.symbol_currencies.values()})

    # The engines' models (of a resolved spec) ---------------------------------------------------
    @property
    def initial_cash(self) -> float:
        if self.cash is None:
            raise ValidationError("the run spec is not resolved: call resolve(symbols) first")
        return float(self.cash)

    @property
    def costs(self) -> CostModel:
        return self._parts()[0]

    @property
    def slippage(self) -> SlippageModel:
        return self._parts()[1]

    @property
    def sizer(self) -> Sizer:
        return self._parts()[2]

    @property
    def fill_model(self) -> FillModel:
        costs, slippage, sizer = self._parts()
        return FillModel(
            costs=costs,
            slippage=slippage,
            sizer=sizer,
            symbol_costs={s: self.costs_for(s) for s in self.symbol_markets},
            symbol_slippage={s: self.slippage_for(s) for s in self.symbol_markets},
        )

    def costs_for(self, symbol: str) -> CostModel:
        """What `symbol` pays: its own market's preset costs when it is from another market
        than the run's (amounts in that market's currency), else the run's costs."""
        market = self.symbol_markets.get(symbol)
        return self.costs if market is None else market_costs(market)

    def slippage_for(self, symbol: str) -> SlippageModel:
        market = self.symbol_markets.get(symbol)
        if market is None:
            return self.slippage
        preset = PRESETS[market]
        return SlippageModel(
            preset.slippage_bps, preset.slippage_vol_mult, self.slippage_vol_window
        )

    def _parts(self, partial: bool = False) -> tuple[CostModel, SlippageModel, Sizer]:
        if not partial and not self.resolved:
            raise ValidationError("the run spec is not resolved: call resolve(symbols) first")

        def num(name: str, blank: float = 0.0) -> float:
            value = getattr(self, name)
            return blank if value is None else float(value)

        schedule = None
        if self.sell_tax is None and self.market != "auto":
            preset_tax = PRESETS[self.market].sell_tax
            schedule = preset_tax if isinstance(preset_tax, SellTaxSchedule) else None
        costs = CostModel(
            commission=num("commission"),
            fixed_fee=num("fixed_fee"),
            min_fee=num("min_fee"),
            sell_tax=num("sell_tax"),
            sell_tax_schedule=schedule,
        )
        slippage = SlippageModel(
            bps=num("slippage_bps"),
            vol_mult=num("slippage_vol_mult"),
            vol_window=self.slippage_vol_window,
        )
        sizer = Sizer(
            lot_size=num("lot_size", 1.0),
            fractional=bool(self.fractional),
            qty_step=num("qty_step", 1.0),
            allow_short=bool(
                PRESETS[self.market].allow_short
                if self.allow_short is None and self.market != "auto"
                else self.allow_short
            ),
            leverage=num("leverage", 1.0),
            lot_sizes=dict(self.lot_sizes),
        )
        return costs, slippage, sizer

    @classmethod
    def defaults_table(cls) -> str:
        """Every option's default by market, as the README documents them."""
        from dataclasses import fields

        from qts.backtest.presets import defaults_table

        common = {
            f.name: f.default
            for f in fields(cls)
            if f.name not in PRESET_FIELDS
            and f.name not in ("lot_sizes", "symbol_currencies", "symbol_markets")
        }
        return defaults_table(common)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestConfig:
        """A spec back from `to_dict` (its derived, read-only keys are dropped)."""
        return cls(**{k: v for k, v in data.items() if k not in DERIVED_KEYS})

    def to_dict(self) -> dict[str, Any]:
        """The fields, plus derived keys (`DERIVED_KEYS`) that say what the run paid."""
        out = asdict(self)
        out["fx_pairs"] = self.fx_pairs
        if self.sell_tax is None and self.market != "auto":
            tax = PRESETS[self.market].sell_tax
            if isinstance(tax, SellTaxSchedule):
                out["sell_tax_schedule"] = [[d.isoformat(), r] for d, r in tax.steps]
        if self.symbol_markets:  # what the symbols of other markets pay
            out["symbol_costs"] = {s: _costs_dict(self.costs_for(s)) for s in self.symbol_markets}
        return out


# Keys `to_dict` adds for readers (FX pairs used, the dated tax, other markets' costs).
DERIVED_KEYS = frozenset({"fx_pairs", "sell_tax_schedule", "symbol_costs"})


def market_costs(market: str) -> CostModel:
    """A market preset's costs (its dated sell tax, if it has one)."""
    preset = PRESETS[market]
    tax = preset.sell_tax
    if isinstance(tax, SellTaxSchedule):
        return CostModel(preset.commission, preset.fixed_fee, preset.min_fee, 0.0, tax)
    return CostModel(preset.commission, preset.fixed_fee, preset.min_fee, float(tax))


def _costs_dict(costs: CostModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "commission": costs.commission,
        "fixed_fee": costs.fixed_fee,
        "min_fee": costs.min_fee,
        "sell_tax": costs.sell_tax,
    }
    if costs.sell_tax_schedule is not None:
        out["sell_tax"] = None
        out["sell_tax_schedule"] = [[d.isoformat(), r] for d, r in costs.sell_tax_schedule.steps]
    return out
