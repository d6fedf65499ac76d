"""Currencies on the trading side: a symbol's currency and FX conversion at given rates.

Pure: the rates are handed in (the trading services read them from the `bars` table, where an
FX rate is a bar of exchange `FX`, symbol `BASE/QUOTE`, close = QUOTE per 1 BASE). A pair that
is not given is derived from its inverse; a conversion with neither raises `MissingFxRateError`
naming the pair, so nothing in another currency is ever compared or added unconverted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from qts.core.errors import ValidationError
from qts.market.calendars import crypto_quote

CURRENCY_PATTERN = re.compile(r"^[A-Z]{3,5}$")


class MissingFxRateError(ValidationError):
    """No FX rate is known for a pair a conversion needs."""

    def __init__(self, base: str, quote: str) -> None:
        super().__init__(
            f"no FX rate for {base}/{quote} (store FX bars: exchange FX, symbol {base}/{quote})",
            details={"pair": f"{base}/{quote}"},
        )
        self.pair = f"{base}/{quote}"


def guess_currency(symbol: str) -> str:
    """A symbol's currency from its name alone: KRX 6-digit codes trade in KRW, a crypto pair
    in its quote, anything else (US tickers) in USD. Stored symbol rows take precedence."""
    if re.fullmatch(r"\d{6}", symbol):
        return "KRW"
    return crypto_quote(symbol) or "USD"


def check_currency(code: str) -> str:
    if not CURRENCY_PATTERN.match(code or ""):
        raise ValidationError(f"currency must be a code like KRW or USD, got {code!r}")
    return code


@dataclass(frozen=True, slots=True)
class FxRates:
    """Rates in force, by pair "BASE/QUOTE" (QUOTE per 1 BASE)."""

    rates: Mapping[str, float] = field(default_factory=dict)

    def rate(self, base: str, quote: str) -> float:
        if base == quote:
            return 1.0
        direct = self.rates.get(f"{base}/{quote}")
        if direct is not None and direct > 0 and math.isfinite(direct):
            return float(direct)
        inverse = self.rates.get(f"{quote}/{base}")
        if inverse is not None and inverse > 0 and math.isfinite(inverse):
            return 1.0 / float(inverse)
        raise MissingFxRateError(base, quote)

    def convert(self, amount: float, from_currency: str, to_currency: str) -> float:
        return amount * self.rate(from_currency, to_currency)

    def has(self, base: str, quote: str) -> bool:
        try:
            self.rate(base, quote)
        except MissingFxRateError:
            return False
        return True
