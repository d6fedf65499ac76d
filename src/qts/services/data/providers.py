"""Which client serves a provider name, built from settings and credentials.

Every provider offers `fetch_pages(symbol, timeframe, since_ms, until_ms)` (frames in the
`qts.market.frames` shape, oldest first). Names: `ccxt` (any ccxt exchange; `upbit`, `bithumb`
for KRW crypto), `yahoo`, `naver`/`krx` (Naver daily chart), `kis` (KRX codes: KIS minute chart;
other symbols: KIS's US daily prices, on the exchange an exchange name such as NASD pins, else
the one KIS quotes them on), `kiwoom` (Kiwoom minute chart), `pykrx`, `fdr` (FinanceDataReader). Broker-backed ones (kis, kiwoom)
read their app keys like the brokers do (`QTS_KIS_APP_KEY`, ... or the encrypted vault) and
use the mock domains unless `QTS_BROKER_SANDBOX=false`; `QTS_KIS_MARKET_URL`,
`QTS_KIWOOM_MARKET_URL` point them elsewhere (a proxy, or a local fake in tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import pandas as pd

from qts.core.errors import ValidationError

PROVIDERS = ("ccxt", "yahoo", "naver", "krx", "kis", "kiwoom", "pykrx", "fdr")


def default_provider(exchange: str, timeframe: str) -> str:
    """The provider `qts data fetch` uses when none is named: KRX daily bars from pykrx
    (split-adjusted, maintained), KRX intraday from KIS (the broker most Korean retail quants
    hold an account with; Kiwoom is the alternative), US from Yahoo, crypto through ccxt."""
    from qts.market.calendars import ALWAYS_OPEN, calendar_name
    from qts.market.frames import is_daily_or_longer

    name = calendar_name(exchange)
    if name == "XKRX":
        return "pykrx" if is_daily_or_longer(timeframe) else "kis"
    if name == ALWAYS_OPEN or name is None:
        return "ccxt"
    return "yahoo"


class HistoryProvider(Protocol):
    def fetch_pages(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]: ...


class _OneShot:
    """A provider with a single `fetch` answered as one page."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @property
    def actions(self) -> list[Any]:
        """Corporate actions the last fetch reported (Yahoo's splits and dividends)."""
        return list(getattr(self.client, "actions", None) or [])

    def fetch_pages(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
        yield self.client.fetch(symbol, timeframe, since_ms, until_ms)


def broker_keys(settings: Any, broker: str) -> tuple[str, str]:
    from qts.core.errors import ConfigurationError
    from qts.execution.credentials import CredentialVault, resolve_credentials

    try:
        vault: CredentialVault | None = CredentialVault.from_settings(settings)
    except ConfigurationError:
        vault = None
    creds = resolve_credentials(broker, vault=vault)
    return creds.api_key, creds.secret


def kis_quotations(settings: Any, **options: Any) -> Any:
    """The KIS market-data client: KRX minute charts and US daily prices on one token."""
    from qts.market.kis_overseas import KisOverseasQuotations

    key, secret = broker_keys(settings, "kis")
    options.setdefault("base_url", os.environ.get("QTS_KIS_MARKET_URL") or None)
    options.setdefault("mock", bool(settings.broker_sandbox))
    return KisOverseasQuotations(key, secret, **options)


def make_provider(
    name: str, exchange: str, options: Mapping[str, Any] | None = None, settings: Any = None
) -> HistoryProvider:
    """The client for provider `name` (ValidationError for an unknown one)."""
    opts = dict(options or {})
    name = name.lower()
    if name == "ccxt":
        from qts.market.crypto import CcxtProvider

        return CcxtProvider(exchange, **opts)
    if name in ("yahoo", "yfinance"):
        from qts.market.yahoo import YahooChartProvider

        return _OneShot(YahooChartProvider(**opts))
    if name in ("naver", "krx"):
        from qts.market.krx import NaverChartProvider

        return _OneShot(NaverChartProvider(**opts))
    if name in ("kis", "kiwoom"):
        from qts.config import get_settings

        settings = settings or get_settings()
        if name == "kis":
            from qts.market.kis_overseas import listing_hint

            opts.setdefault("exchange", listing_hint(exchange))
            return kis_quotations(settings, **opts)  # type: ignore[no-any-return]
        from qts.market.kiwoom import KiwoomQuotations

        key, secret = broker_keys(settings, "kiwoom")
        opts.setdefault("base_url", os.environ.get("QTS_KIWOOM_MARKET_URL") or None)
        opts.setdefault("mock", bool(settings.broker_sandbox))
        return KiwoomQuotations(key, secret, **opts)
    if name in ("pykrx", "fdr"):
        from qts.market.krx_libraries import FdrProvider, PykrxProvider

        return _OneShot(PykrxProvider(**opts) if name == "pykrx" else FdrProvider(**opts))
    raise ValidationError(f"unknown provider {name!r}: use one of {', '.join(PROVIDERS)}")
