"""OpenDART periodic reports -> fundamentals rows (`metric, period_end, known_at, value`).

When a figure is known: OpenDART gives a filing's date (`rcept_dt`), not its time, and a
filing may come after the 15:30 close. So no bar of the filing day may see it:
`known_at` = 00:00:01 UTC of the next day (09:00:01 KST, the next KRX open). qts counts a
daily bar of date D as known at D+1 00:00 UTC (its date plus one day), so the filing day's bar
keeps the old figure and every bar of the next day sees the new one.

Which filing a figure belongs to: `fnlttSinglAcntAll` answers with the newest filing of a
report (its `rcept_no`). Figures are stored with that filing's `known_at`; a restatement
(`[기재정정]`) fetched later is a new row for the same period with its own `known_at` (the
feature then uses it from then on). An original whose figures were already replaced when first
fetched gets no rows: we never date restated figures back to the original's filing day.

Basis: trailing twelve months (TTM) for flows, period end for stocks. An annual report gives
the year; a quarterly report gives the year to date (YTD, `thstrm_add_amount`) and the prior
year's YTD (`frmtrm_add_amount`), so TTM = YTD + prior fiscal year - prior YTD, with the
prior fiscal year from the annual report known by then. Metrics (what
`qts.ml.features.fundamental` reads): `eps` (TTM of the reported basic EPS), `sps` (TTM revenue
per share), `bps` (equity of the parent's owners per share), `roe` (TTM net income of the
parent's owners / that equity), `dps` (annual cash dividend per common share, from annual
reports), and the inputs `net_income`, `revenue` (TTM), `equity`, `shares` (issued less
treasury shares, all classes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from qts.core.errors import ValidationError

REVENUE = ("ifrs-full_Revenue", "ifrs_Revenue", "dart_Revenue")
NET_INCOME = ("ifrs-full_ProfitLossAttributableToOwnersOfParent", "ifrs-full_ProfitLoss")
EPS = ("ifrs-full_BasicEarningsLossPerShare",)
EQUITY = ("ifrs-full_EquityAttributableToOwnersOfParent", "ifrs-full_Equity")
INCOME_STATEMENTS = ("IS", "CIS")
ANNUAL = "11011"


def known_at_for(rcept_dt: date) -> datetime:
    """When a filing dated `rcept_dt` counts as known (see the module's docstring)."""
    return datetime.combine(rcept_dt + timedelta(days=1), time(0, 0, 1), tzinfo=UTC)


def filing_date(rcept_no: str) -> date:
    """A receipt number starts with its filing date (YYYYMMDD + a 6-digit serial)."""
    try:
        return date(int(rcept_no[:4]), int(rcept_no[4:6]), int(rcept_no[6:8]))
    except ValueError:
        raise ValidationError(f"OpenDART receipt number {rcept_no!r} has no date") from None


def amount(text: Any) -> float | None:
    """An OpenDART amount ("1,234", "-5", "" or "-") as a number, None when absent."""
    if text is None:
        return None
    cleaned = str(text).replace(",", "").strip()
    if cleaned in ("", "-"):
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise ValidationError(f"OpenDART amount {text!r} is not a number") from None


@dataclass(frozen=True)
class Report:
    """One report's statement as answered (the newest filing for it) and what it needs."""

    bsns_year: int
    reprt_code: str
    period_end: date
    rcept_no: str
    known_at: datetime
    accounts: Sequence[dict[str, Any]]
    shares: float | None = None
    dps: float | None = None

    @property
    def annual(self) -> bool:
        return self.reprt_code == ANNUAL


def _row(
    accounts: Iterable[dict[str, Any]], ids: Sequence[str], sj: Sequence[str]
) -> dict[str, Any] | None:
    rows = [a for a in accounts if a.get("sj_div") in sj]
    for account_id in ids:
        for row in rows:
            if row.get("account_id") == account_id:
                return row
    return None


def _flow(report: Report, ids: Sequence[str], prior: bool = False) -> float | None:
    """A flow's year to date (this year's, or the prior year's with `prior`)."""
    row = _row(report.accounts, ids, INCOME_STATEMENTS)
    if row is None:
        return None
    keys: tuple[str, ...]
    if prior:
        keys = ("frmtrm_amount",) if report.annual else (
            "frmtrm_add_amount", "frmtrm_q_amount", "frmtrm_amount"
        )  # fmt: skip
    else:
        keys = ("thstrm_amount",) if report.annual else ("thstrm_add_amount", "thstrm_amount")
    for key in keys:
        value = amount(row.get(key))
        if value is not None:
            return value
    return None


def ttm(report: Report, prior_annual: Report | None, ids: Sequence[str]) -> float | None:
    """Trailing twelve months of a flow: the year for an annual report, else
    YTD + prior fiscal year - prior YTD (None without the prior annual report)."""
    ytd = _flow(report, ids)
    if report.annual or ytd is None:
        return ytd
    if prior_annual is None:
        return None
    year, prior_ytd = _flow(prior_annual, ids), _flow(report, ids, prior=True)
    if year is None or prior_ytd is None:
        return None
    return ytd + year - prior_ytd


def equity(report: Report) -> float | None:
    row = _row(report.accounts, EQUITY, ("BS",))
    return amount(row.get("thstrm_amount")) if row is not None else None


def shares_outstanding(rows: Sequence[dict[str, Any]]) -> float | None:
    """Issued less treasury shares (`distb_stock_co`) of the total row of stockTotqySttus,
    else its issued total (`istc_totqy`)."""
    total = next((r for r in rows if str(r.get("se", "")).strip() == "합계"), None)
    chosen = total or (rows[0] if rows else None)
    if chosen is None:
        return None
    for key in ("distb_stock_co", "istc_totqy"):
        value = amount(chosen.get(key))
        if value:
            return value
    return None


def dividend_per_share(rows: Sequence[dict[str, Any]]) -> float | None:
    """The year's cash dividend per common share (alotMatter: 주당 현금배당금(원), 보통주)."""
    for row in rows:
        label = str(row.get("se", "")).replace(" ", "")
        kind = str(row.get("stock_knd", "보통주")).strip()
        if label.startswith("주당현금배당금") and kind in ("보통주", ""):
            return amount(row.get("thstrm"))
    return None


def prior_annual_for(report: Report, reports: Iterable[Report]) -> Report | None:
    """The annual report of the prior year, as known when `report` was filed."""
    if report.annual:
        return None
    known = [
        r
        for r in reports
        if r.annual and r.bsns_year == report.bsns_year - 1 and r.known_at <= report.known_at
    ]
    return max(known, key=lambda r: r.known_at) if known else None


def report_metrics(report: Report, prior_annual: Report | None) -> dict[str, float]:
    """The metrics of one report (only those its figures allow)."""
    out: dict[str, float] = {}
    net_income, revenue = ttm(report, prior_annual, NET_INCOME), ttm(report, prior_annual, REVENUE)
    eps, own = ttm(report, prior_annual, EPS), equity(report)
    shares = report.shares if report.shares and report.shares > 0 else None
    if net_income is not None:
        out["net_income"] = net_income
    if revenue is not None:
        out["revenue"] = revenue
    if own is not None:
        out["equity"] = own
        if net_income is not None and own > 0:
            out["roe"] = net_income / own
    if eps is None and net_income is not None and shares:
        eps = net_income / shares
    if eps is not None:
        out["eps"] = eps
    if shares:
        out["shares"] = shares
        if revenue is not None:
            out["sps"] = revenue / shares
        if own is not None:
            out["bps"] = own / shares
    if report.annual and report.dps is not None:
        out["dps"] = report.dps
    return out


def fundamentals_rows(
    reports: Sequence[Report], exchange: str, symbol: str
) -> list[dict[str, Any]]:
    """Rows for the `fundamentals` table from one company's reports."""
    rows: list[dict[str, Any]] = []
    for report in sorted(reports, key=lambda r: (r.known_at, r.period_end)):
        metrics = report_metrics(report, prior_annual_for(report, reports))
        rows.extend(
            {
                "exchange": exchange,
                "symbol": symbol,
                "metric": metric,
                "period_end": report.period_end,
                "known_at": report.known_at,
                "value": value,
            }
            for metric, value in sorted(metrics.items())
        )
    return rows
