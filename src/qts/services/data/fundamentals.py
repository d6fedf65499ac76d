"""Fundamentals from OpenDART: fetch a company's periodic reports, turn them into
`fundamentals` rows (`qts.market.opendart_metrics`: TTM basis, `known_at` after the filing day)
and store them; the scheduled collection job.

The corp-code <-> ticker mapping (corpCode.xml, ~100k filers) is cached as a small JSON file of
the listed companies only, `<data dir>/opendart/corp_codes.json`, refreshed when older than
`CORP_CODES_MAX_AGE` or when a symbol is missing from it (once per call). A file, not a table:
it is a cache of a public list, rebuilt at will, and per host is fine.

A fetch reads everything first and stores at the end, in one transaction: an error (no key,
an unknown stock code, a malformed answer) stores nothing and leaves stored rows as they were.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from qts.config import Settings, get_settings
from qts.core.errors import ConfigurationError, QtsError, ValidationError
from qts.db import Database
from qts.db.repositories.fundamentals import FundamentalsRepository
from qts.market.opendart import REPORT_CODES, OpenDartClient, corp_code_for
from qts.market.opendart_metrics import (
    ANNUAL,
    Report,
    dividend_per_share,
    filing_date,
    fundamentals_rows,
    known_at_for,
    shares_outstanding,
)
from qts.observability.redaction import REDACTOR
from qts.services.data.market_data import list_datasets, resolve_database

log = logging.getLogger(__name__)
EXCHANGE = "XKRX"
CORP_CODES_FILE = Path("opendart") / "corp_codes.json"
CORP_CODES_MAX_AGE = timedelta(days=7)
NO_KEY = (
    "no OpenDART API key: set QTS_OPENDART_API_KEY (a free 40-character key from "
    "https://opendart.fss.or.kr)"
)


def opendart_client(
    settings: Settings | None = None, base_url: str | None = None
) -> OpenDartClient:
    """A client with the configured key (registered with the log redactor), or a clear error."""
    settings = settings or get_settings()
    key = settings.opendart_api_key.get_secret_value() if settings.opendart_api_key else ""
    if not key:
        raise ConfigurationError(NO_KEY)
    REDACTOR.add(key)
    return OpenDartClient(key, base_url or settings.opendart_base_url)


# Corp codes ---------------------------------------------------------------------------------
def _read_cache(path: Path) -> tuple[dict[str, str], datetime | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fetched = datetime.fromisoformat(data["fetched_at"])
        return {str(k): str(v) for k, v in data["codes"].items()}, fetched
    except (OSError, ValueError, KeyError, TypeError):
        return {}, None


def _write_cache(path: Path, codes: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    payload = {"fetched_at": datetime.now(UTC).isoformat(), "codes": codes}
    tmp.write_text(json.dumps(payload, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)  # atomic: a reader sees the old file or the new one


def corp_codes(
    client: OpenDartClient, data_dir: Path, symbols: Sequence[str] = (), refresh: bool = False
) -> dict[str, str]:
    """KRX stock code -> DART corp code of the listed companies, from the cache when it is
    fresh and knows every symbol asked for, else from corpCode.xml (and cached)."""
    path = data_dir / CORP_CODES_FILE
    codes, fetched = _read_cache(path)
    stale = fetched is None or datetime.now(UTC) - fetched > CORP_CODES_MAX_AGE
    if refresh or stale or any(s not in codes for s in symbols):
        listed = {c.stock_code: c.corp_code for c in client.corp_codes() if c.stock_code.strip()}
        if not listed:
            raise ValidationError("OpenDART corpCode.xml lists no company with a stock code")
        _write_cache(path, listed)
        codes = listed
    return codes


# Reports ------------------------------------------------------------------------------------
def _statement(client: OpenDartClient, corp: str, year: int, code: str) -> list[dict[str, Any]]:
    """Consolidated statements, else separate ones (a company without subsidiaries)."""
    return client.financial_statements(corp, year, code, "CFS") or client.financial_statements(
        corp, year, code, "OFS"
    )


def _report(
    client: OpenDartClient, corp: str, period: tuple[int, str, date], dates: dict[str, date]
) -> Report | None:
    year, code, period_end = period
    accounts = _statement(client, corp, year, code)
    if not accounts:
        return None
    receipts = {str(a.get("rcept_no", "")) for a in accounts}
    if len(receipts) != 1:
        raise ValidationError(
            f"OpenDART fnlttSinglAcntAll {year} {REPORT_CODES[code]}: rows of "
            f"{len(receipts)} filings ({sorted(receipts)[:3]}), expected one"
        )
    rcept_no = receipts.pop()
    filed = dates.get(rcept_no) or filing_date(rcept_no)
    shares = shares_outstanding(client.share_counts(corp, year, code))
    dps = dividend_per_share(client.dividends(corp, year, code)) if code == ANNUAL else None
    return Report(year, code, period_end, rcept_no, known_at_for(filed), accounts, shares, dps)


def company_reports(
    client: OpenDartClient, corp: str, start: date, end: date
) -> tuple[list[Report], list[str]]:
    """The reports of the periodic filings made between `start` and `end` (and the prior
    year's annual report each quarterly one needs for its TTM figures); plus the periods
    OpenDART has no statement for (`013`)."""
    filings = client.periodic_reports(corp, start, end)
    dates = {f.rcept_no: f.rcept_dt for f in filings}
    periods = {(f.bsns_year, f.reprt_code, f.period_end) for f in filings}
    periods |= {(y - 1, ANNUAL, date(y - 1, 12, 31)) for y, c, _ in periods if c != ANNUAL}
    reports, missing = [], []
    for period in sorted(periods):
        report = _report(client, corp, period, dates)
        if report is None:
            missing.append(f"{period[0]} {REPORT_CODES[period[1]]}")
        else:
            reports.append(report)
    return reports, missing


def _as_date(value: date | str | None, default: date) -> date:
    if value is None or value == "":
        return default
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {value!r}") from None


def fetch_fundamentals(
    db: Database | None,
    symbols: Sequence[str],
    start: date | str | None = None,
    end: date | str | None = None,
    *,
    client: OpenDartClient | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Fetch the periodic reports filed between `start` (default: three years ago) and `end`
    (default: today) for KRX `symbols`, then store their fundamentals in one transaction."""
    settings = settings or get_settings()
    today = datetime.now(UTC).date()
    first, last = _as_date(start, today - timedelta(days=3 * 365)), _as_date(end, today)
    if first > last:
        raise ValidationError(f"start {first} is after end {last}")
    symbols = [s.strip() for s in symbols if s.strip()]
    if not symbols:
        raise ValidationError("no symbols given")
    own = client is None
    client = client or opendart_client(settings)
    try:
        codes = corp_codes(client, settings.ensure_data_dir(), symbols)
        collected = {
            s: _symbol_rows(client, corp_code_for(codes, s), s, first, last) for s in symbols
        }
    finally:
        if own:
            client.close()
    rows = [row for entry in collected.values() for row in entry.pop("rows")]
    with resolve_database(db).session() as s:
        stored = FundamentalsRepository(s).upsert_fundamentals(rows)
    return {
        "stored": stored,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "symbols": collected,
    }


def _symbol_rows(
    client: OpenDartClient, corp: str, symbol: str, start: date, end: date
) -> dict[str, Any]:
    reports, missing = company_reports(client, corp, start, end)
    rows = fundamentals_rows(reports, EXCHANGE, symbol)
    return {
        "corp_code": corp, "reports": len(reports), "rows": rows, "no_data": missing,
        "filings": sorted({r.rcept_no for r in reports}),
    }  # fmt: skip


# The scheduled job --------------------------------------------------------------------------
def stored_krx_symbols(db: Database) -> list[str]:
    return sorted({d["symbol"] for d in list_datasets(db) if d["exchange"] == EXCHANGE})


def collect_fundamentals(
    ctx: Any, lookback_days: int = 200, start: str | None = None
) -> dict[str, Any]:
    """Job: new OpenDART filings of every stored KRX symbol (filed in the last
    `lookback_days`, or since `start`). Off without an API key. Each symbol is stored on its
    own; the job fails after the others are stored when one failed (retried then)."""
    settings = ctx.settings
    if not settings.opendart_api_key or not settings.opendart_api_key.get_secret_value():
        return {"skipped": "no OpenDART API key (QTS_OPENDART_API_KEY)"}
    symbols = stored_krx_symbols(ctx.db)
    if not symbols:
        return {"symbols": 0, "stored": 0}
    first = start or (datetime.now(UTC).date() - timedelta(days=lookback_days)).isoformat()
    stored, failed = 0, {}
    with opendart_client(settings) as client:
        for symbol in symbols:
            try:
                result = fetch_fundamentals(
                    ctx.db, [symbol], first, client=client, settings=settings
                )
            except QtsError as exc:
                failed[symbol] = exc.message
                log.warning("OpenDART fundamentals for %s failed: %s", symbol, exc.message)
                continue
            stored += result["stored"]
    if failed:
        raise ValidationError(
            f"OpenDART fundamentals failed for {len(failed)} of {len(symbols)} symbols: "
            + "; ".join(f"{k}: {v}" for k, v in failed.items()),
            details={"failed": failed, "stored": stored},
        )
    return {"symbols": len(symbols), "stored": stored, "start": first}
