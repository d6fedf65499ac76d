"""A local OpenDART server in the published formats (development guide, DS001-DS003):
`corpCode.xml` (a ZIP with CORPCODE.xml), `list.json`, `fnlttSinglAcntAll.json`,
`stockTotqySttus.json`, `alotMatter.json`, with their `status` codes (`000`, `010` bad key,
`013` no data, `020` request limit, `100` bad field).

`today` is the server's date: filings after it do not exist yet, and a report's statement is
the one of its newest filing by then (so a restatement shows once `today` passes its date).
Faults come from `FakeBrokerServer.inject` (`rate_limit` answers status 020, `answer` sends a
scripted body such as malformed JSON).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any

from tests.brokers.fakes.server import Answer, FakeBrokerServer, Received
from tests.fakes.opendart_fixtures import (
    ANNUAL,
    COMPANIES,
    HALF,
    NO_STATEMENT,
    Q1,
    Q3,
    QUARTERS,
    RESTATEMENTS,
    SCHEDULE,
    UNLISTED,
    filing_date,
)

API_KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 characters, as OpenDART's keys
QUARTER_OF = {Q1: 1, HALF: 2, Q3: 3, ANNUAL: 4}
MONTH_OF = {Q1: "03", HALF: "06", Q3: "09", ANNUAL: "12"}
KIND_OF = {Q1: "분기보고서", HALF: "반기보고서", Q3: "분기보고서", ANNUAL: "사업보고서"}
TRILLION = 1e12


@dataclass(frozen=True)
class FakeFiling:
    symbol: str
    year: int
    code: str
    rcept_no: str
    filed: date
    restated: bool

    @property
    def report_nm(self) -> str:
        name = f"{KIND_OF[self.code]} ({self.year}.{MONTH_OF[self.code]})"
        return f"[기재정정]{name}" if self.restated else name


def _filings() -> list[FakeFiling]:
    out = []
    for i, symbol in enumerate(COMPANIES):
        for j, (year, code) in enumerate(SCHEDULE):
            filed = filing_date(symbol, year, code)
            serial = 800_000 + i * 100 + j
            out.append(FakeFiling(symbol, year, code, f"{filed:%Y%m%d}{serial:06d}", filed, False))
            restated = RESTATEMENTS.get((symbol, year, code))
            if restated is not None:
                again = date.fromisoformat(restated[0])
                out.append(
                    FakeFiling(symbol, year, code, f"{again:%Y%m%d}{serial + 50:06d}", again, True)
                )
    return out


def _won(trillion: float) -> str:
    return str(round(trillion * TRILLION))


def _commas(value: int) -> str:
    return f"{value:,}"


class FakeOpenDart(FakeBrokerServer):
    def __init__(self, today: date = date(2025, 6, 30), api_key: str = API_KEY) -> None:
        super().__init__()
        self.today = today
        self.api_key = api_key
        self.filings = _filings()
        self.by_corp = {c.corp_code: s for s, c in COMPANIES.items()}

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def api_of(self, request: Received) -> str:
        return request.path.rsplit("/", 1)[-1]

    def rate_limited(self, request: Received) -> Answer:
        return 200, {}, {"status": "020", "message": "요청 제한을 초과하였습니다."}

    # Dispatch ---------------------------------------------------------------------------------
    def handle(self, request: Received) -> Answer:
        api = self.api_of(request)
        if request.query.get("crtfc_key") != self.api_key:
            if api == "corpCode.xml":  # the ZIP endpoint answers errors in XML
                xml = "<result><status>010</status><message>등록되지 않은 키입니다.</message></result>"
                return 200, {"Content-Type": "application/xml"}, xml.encode()
            return 200, {}, {"status": "010", "message": "등록되지 않은 키입니다."}
        if api == "corpCode.xml":
            return 200, {"Content-Type": "application/x-msdownload"}, self._corp_zip()
        handlers = {
            "list.json": self._list, "fnlttSinglAcntAll.json": self._statement,
            "stockTotqySttus.json": self._shares, "alotMatter.json": self._dividends,
        }  # fmt: skip
        if api not in handlers:
            return 404, {}, {"message": "Not Found"}
        q = request.query
        if q.get("corp_code") not in self.by_corp:
            return 200, {}, {"status": "100", "message": "필드의 부적절한 값입니다. (corp_code)"}
        return handlers[api](self.by_corp[q["corp_code"]], q)

    @staticmethod
    def _no_data() -> Answer:
        return 200, {}, {"status": "013", "message": "조회된 데이타가 없습니다."}

    @staticmethod
    def _ok(rows: list[dict[str, Any]], **extra: Any) -> Answer:
        return 200, {}, {"status": "000", "message": "정상", **extra, "list": rows}

    def _corp_zip(self) -> bytes:
        entries = [(c.corp_code, c.name, s) for s, c in COMPANIES.items()]
        entries += [(code, name, " ") for code, name in UNLISTED]
        items = "".join(
            f"<list><corp_code>{code}</corp_code><corp_name>{name}</corp_name>"
            f"<stock_code>{stock}</stock_code><modify_date>20250102</modify_date></list>"
            for code, name, stock in entries
        )
        xml = f'<?xml version="1.0" encoding="UTF-8"?><result>{items}</result>'
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("CORPCODE.xml", xml.encode("utf-8"))
        return buffer.getvalue()

    # list.json --------------------------------------------------------------------------------
    def _list(self, symbol: str, q: dict[str, str]) -> Answer:
        try:
            first, last = (
                date.fromisoformat(_iso(q["bgn_de"])),
                date.fromisoformat(_iso(q["end_de"])),
            )
            page, size = int(q.get("page_no", "1")), int(q.get("page_count", "10"))
        except (KeyError, ValueError):
            return 200, {}, {"status": "100", "message": "필드의 부적절한 값입니다."}
        found = [
            f
            for f in self.filings
            if f.symbol == symbol and first <= f.filed <= min(last, self.today)
        ]
        if q.get("pblntf_ty") not in (None, "", "A"):
            found = []
        if not found:
            return self._no_data()
        found.sort(key=lambda f: f.rcept_no, reverse=True)  # newest first, as OpenDART sorts
        company = COMPANIES[symbol]
        rows = [
            {
                "corp_code": company.corp_code,
                "corp_name": company.name,
                "stock_code": symbol,
                "corp_cls": "Y",
                "report_nm": f.report_nm,
                "rcept_no": f.rcept_no,
                "flr_nm": company.name,
                "rcept_dt": f"{f.filed:%Y%m%d}",
                "rm": "유",
            }
            for f in found[(page - 1) * size : page * size]
        ]
        pages = -(-len(found) // size)
        return self._ok(
            rows, page_no=page, page_count=size, total_count=len(found), total_page=pages
        )

    # Reports ----------------------------------------------------------------------------------
    def newest_filing(self, symbol: str, year: int, code: str) -> FakeFiling | None:
        known = [
            f
            for f in self.filings
            if (f.symbol, f.year, f.code) == (symbol, year, code) and f.filed <= self.today
        ]
        return max(known, key=lambda f: f.filed) if known else None

    def _period(self, symbol: str, q: dict[str, str]) -> tuple[int, str, FakeFiling] | None:
        year, code = int(q.get("bsns_year", "0") or 0), q.get("reprt_code", "")
        filing = self.newest_filing(symbol, year, code) if code in QUARTER_OF else None
        return None if filing is None else (year, code, filing)

    def _statement(self, symbol: str, q: dict[str, str]) -> Answer:
        found = self._period(symbol, q)
        if (
            found is None
            or q.get("fs_div") != "CFS"
            or (symbol, found[0], found[1]) in NO_STATEMENT
        ):
            return self._no_data()
        return self._ok(statement_rows(symbol, *found))

    def _shares(self, symbol: str, q: dict[str, str]) -> Answer:
        found = self._period(symbol, q)
        if found is None:
            return self._no_data()
        company = COMPANIES[symbol]
        total = {
            "rcept_no": found[2].rcept_no, "corp_code": company.corp_code, "se": "합계",
            "istc_totqy": _commas(company.issued), "tesstk_co": _commas(company.treasury),
            "distb_stock_co": _commas(company.shares), "stlm_dt": f"{found[0]}-12-31",
        }  # fmt: skip
        common = {**total, "se": "보통주", "istc_totqy": "-", "distb_stock_co": "-"}
        return self._ok([common, total])

    def _dividends(self, symbol: str, q: dict[str, str]) -> Answer:
        found = self._period(symbol, q)
        if found is None:
            return self._no_data()
        year = found[0]
        dps = COMPANIES[symbol].dps.get(year, 0) if found[1] == ANNUAL else 0
        base = {"rcept_no": found[2].rcept_no, "corp_code": COMPANIES[symbol].corp_code}
        return self._ok([
            {**base, "se": "주당액면가액(원)", "thstrm": "100", "frmtrm": "100"},
            {**base, "se": "주당 현금배당금(원)", "stock_knd": "보통주", "thstrm": _commas(dps)},
            {**base, "se": "주당 현금배당금(원)", "stock_knd": "우선주",
             "thstrm": _commas(dps + 1 if dps else 0)},
        ])  # fmt: skip


def _iso(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]}"


def quarter_value(symbol: str, series: str, year: int, quarter: int, restated: bool) -> float:
    """One quarter's figure (trillion KRW); None-safe callers check the year is covered."""
    company = COMPANIES[symbol]
    value = getattr(company, series)[QUARTERS.index(f"{year}Q{quarter}")]
    change = RESTATEMENTS.get((symbol, year, ANNUAL), ("", {}))[1].get(series, 0.0)
    return value + change if restated and quarter == 4 else value


def ytd(symbol: str, series: str, year: int, quarter: int, restated: bool = False) -> float | None:
    if f"{year}Q1" not in QUARTERS:
        return None
    return sum(quarter_value(symbol, series, year, k, restated) for k in range(1, quarter + 1))


def statement_rows(symbol: str, year: int, code: str, filing: FakeFiling) -> list[dict[str, Any]]:
    """fnlttSinglAcntAll rows of one report: IS, CIS, BS and one SCE row (to be ignored)."""
    k, restated = QUARTER_OF[code], filing.restated
    shares = COMPANIES[symbol].shares

    def flow(series: str, scale: float = 1.0, per_share: bool = False) -> dict[str, str]:
        def fmt(x: float | None) -> str:
            if x is None:
                return ""
            return str(round(x * TRILLION / shares)) if per_share else _won(x * scale)

        this_q = quarter_value(symbol, series, year, k, restated)
        prior_ytd = ytd(symbol, series, year - 1, k)
        if code == ANNUAL:
            return {"thstrm_amount": fmt(ytd(symbol, series, year, 4, restated)),
                    "frmtrm_amount": fmt(prior_ytd)}  # fmt: skip
        prior_q = (
            quarter_value(symbol, series, year - 1, k, False) if prior_ytd is not None else None
        )
        return {"thstrm_amount": fmt(this_q), "thstrm_add_amount": fmt(ytd(symbol, series, year, k)),
                "frmtrm_q_amount": fmt(prior_q), "frmtrm_add_amount": fmt(prior_ytd)}  # fmt: skip

    equity_now = COMPANIES[symbol].equity[QUARTERS.index(f"{year}Q{k}")]
    if restated:
        equity_now += RESTATEMENTS[(symbol, year, code)][1].get("equity", 0.0)
    rows = [
        ("IS", "ifrs-full_Revenue", "수익(매출액)", flow("revenue")),
        ("IS", "ifrs-full_ProfitLoss", "당기순이익(손실)", flow("net_income", 1.02)),
        ("IS", "ifrs-full_ProfitLossAttributableToOwnersOfParent", "지배기업의 소유주에게 귀속되는 당기순이익(손실)", flow("net_income")),
        ("IS", "ifrs-full_BasicEarningsLossPerShare", "기본주당이익(손실)", flow("net_income", per_share=True)),
        ("CIS", "ifrs-full_ProfitLoss", "당기순이익(손실)", flow("net_income", 1.02)),
        ("SCE", "ifrs-full_ProfitLoss", "당기순이익(손실)", {"thstrm_amount": "1"}),
        ("BS", "ifrs-full_EquityAttributableToOwnersOfParent", "지배기업의 소유주에게 귀속되는 자본", {"thstrm_amount": _won(equity_now)}),
        ("BS", "ifrs-full_Equity", "자본총계", {"thstrm_amount": _won(equity_now * 1.03)}),
    ]  # fmt: skip
    company = COMPANIES[symbol]
    return [
        {
            "rcept_no": filing.rcept_no,
            "reprt_code": code,
            "bsns_year": str(year),
            "corp_code": company.corp_code,
            "sj_div": sj,
            "account_id": account_id,
            "account_nm": name,
            "account_detail": "-",
            "ord": str(i),
            "currency": "KRW",
            **amounts,
        }
        for i, (sj, account_id, name, amounts) in enumerate(rows, start=1)
    ]
