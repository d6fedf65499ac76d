"""OpenDART (금융감독원 전자공시 Open API) client: company codes, periodic-report filings and
their financial statements, share counts and dividends.

Endpoints (GET, the key travels as `crtfc_key`; it is never logged nor put in an error):
- `corpCode.xml`: a ZIP holding CORPCODE.xml (`<result><list><corp_code/><corp_name/>
  <stock_code/><modify_date/></list>...`): the 8-digit DART company code of every filer; listed
  companies carry their 6-digit KRX stock code.
- `list.json`: filings of one company between `bgn_de` and `end_de`; `pblntf_ty=A` keeps the
  periodic reports (사업보고서 annual, 반기보고서 half-year, 분기보고서 Q1/Q3, and their
  `[기재정정]` restatements), paged by `page_no` / `page_count` up to `total_page`.
- `fnlttSinglAcntAll.json`: every XBRL account of one report (`bsns_year`, `reprt_code`
  11013 Q1 / 11012 half / 11014 Q3 / 11011 annual, `fs_div` CFS consolidated | OFS separate);
  the figures of the newest filing for that report (its `rcept_no`).
- `stockTotqySttus.json` (share counts) and `alotMatter.json` (dividends) of one report.

Every JSON answer has `status`: `000` ok, `013` no data (not an error: an empty answer here),
`020` request limit (retried with backoff), others raise with the provider's meaning.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.etree import ElementTree

import httpx

from qts.core.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
)
from qts.market.network import FINAL_CAUSES, bad_status, classify, unreachable

DEFAULT_BASE_URL = "https://opendart.fss.or.kr/api"
PROVIDER = "OpenDART"
REPORT_CODES = {"11013": "Q1", "11012": "half", "11014": "Q3", "11011": "annual"}
NO_DATA = "013"
RATE_LIMITED = "020"
# The provider's status codes (development guide, "메시지 설명"), in English.
STATUS_MESSAGES = {
    "010": "the API key is not registered (check QTS_OPENDART_API_KEY)",
    "011": "the API key may not be used (suspended)",
    "012": "this IP address may not use the API key",
    "014": "the file does not exist",
    "020": "the request limit was exceeded (about 20,000 requests a day)",
    "021": "too many companies in one request",
    "100": "a request field has an invalid value",
    "101": "improper access",
    "800": "the service is paused for maintenance",
    "900": "undefined error on OpenDART's side",
    "901": "the API key's holder data expired; renew the key",
}
AUTH_CODES = frozenset({"010", "011", "012", "901"})
UNAVAILABLE_CODES = frozenset({"800", "900"})
REPORT_NAME = re.compile(r"(사업|반기|분기)보고서\s*\((\d{4})\.(\d{2})\)")


@dataclass(frozen=True, slots=True)
class CorpCode:
    corp_code: str
    corp_name: str
    stock_code: str
    modify_date: str


@dataclass(frozen=True, slots=True)
class Filing:
    """One periodic-report filing: its receipt number and date, and the period it reports."""

    rcept_no: str
    rcept_dt: date
    report_nm: str
    bsns_year: int
    reprt_code: str
    period_end: date
    restated: bool


class OpenDartError(ValidationError):
    """An answer OpenDART's documentation does not allow, or an error status."""


def parse_report_name(report_nm: str) -> tuple[int, str, date] | None:
    """(business year, report code, period end) of a December-year-end company's periodic
    report name such as `분기보고서 (2024.03)` or `[기재정정]사업보고서 (2023.12)`; None for
    other names (other filings, fiscal years not ending in December)."""
    match = REPORT_NAME.search(report_nm)
    if match is None:
        return None
    kind, year, month = match.group(1), int(match.group(2)), int(match.group(3))
    code = {("사업", 12): "11011", ("반기", 6): "11012", ("분기", 3): "11013", ("분기", 9): "11014"}
    reprt_code = code.get((kind, month))
    if reprt_code is None:
        return None
    day = 31 if month in (3, 12) else 30
    return year, reprt_code, date(year, month, day)


def _yyyymmdd(value: date | str) -> str:
    return value.strftime("%Y%m%d") if isinstance(value, date) else value.replace("-", "")


def _date(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


class OpenDartClient:
    """Synchronous OpenDART client over httpx; `sleep` and `max_retries` shape the backoff
    on `020` (request limit) and on 5xx answers."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise AuthenticationError("no OpenDART API key: set QTS_OPENDART_API_KEY")
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenDartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Transport --------------------------------------------------------------------------------
    def _get(self, endpoint: str, params: dict[str, Any]) -> httpx.Response:
        """GET with the key; 5xx and transport errors retried briefly (a refused connection or
        an unknown host fails at once), then a one-line error naming the host (never the URL:
        it holds the key)."""
        url = f"{self.base_url}/{endpoint}"
        query = {"crtfc_key": self._key, **params}
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.get(url, params=query)
            except httpx.TransportError as exc:
                if attempt == self.max_retries or classify(exc) in FINAL_CAUSES:
                    raise unreachable(PROVIDER, self.base_url, exc) from None
            else:
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise bad_status(PROVIDER, self.base_url, response.status_code)
                    return response
                if attempt == self.max_retries:
                    raise bad_status(PROVIDER, self.base_url, response.status_code)
            self._sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _check(self, endpoint: str, status: str, message: str) -> None:
        if status in ("000", NO_DATA):
            return
        meaning = STATUS_MESSAGES.get(status, "unknown status")
        text = f"OpenDART {endpoint}: status {status}: {meaning} ({message})"
        details = {"status": status, "endpoint": endpoint}
        if status in AUTH_CODES:
            raise AuthenticationError(text, details=details)
        if status == RATE_LIMITED:
            raise RateLimitedError(text, details=details)
        if status in UNAVAILABLE_CODES:
            raise ServiceUnavailableError(text, details={**details, "provider": PROVIDER})
        raise OpenDartError(text, details=details)

    def _json(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer's body, None for `013` (no data); `020` waits and asks again."""
        for attempt in range(self.max_retries + 1):
            response = self._get(endpoint, params)
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise OpenDartError(f"OpenDART {endpoint}: the answer is not JSON") from None
            if not isinstance(body, dict) or not isinstance(body.get("status"), str):
                raise OpenDartError(f"OpenDART {endpoint}: the answer has no status field")
            status = body["status"]
            if status == RATE_LIMITED and attempt < self.max_retries:
                self._sleep(self.backoff_s * 2**attempt)
                continue
            self._check(endpoint, status, str(body.get("message", "")))
            return None if status == NO_DATA else body
        raise AssertionError("unreachable")

    @staticmethod
    def _rows(endpoint: str, body: dict[str, Any] | None) -> list[dict[str, Any]]:
        if body is None:
            return []
        rows = body.get("list")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise OpenDartError(f"OpenDART {endpoint}: `list` is missing or not a list of rows")
        return rows

    # Endpoints --------------------------------------------------------------------------------
    def corp_codes(self) -> list[CorpCode]:
        """Every filer in corpCode.xml (the listed ones have a stock code)."""
        response = self._get("corpCode.xml", {})
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                name = next((n for n in archive.namelist() if n.lower().endswith(".xml")), None)
                if name is None:
                    raise OpenDartError("OpenDART corpCode.xml: the ZIP holds no XML file")
                root = ElementTree.fromstring(archive.read(name))
        except zipfile.BadZipFile:
            root = self._xml_error(response.content)  # an error answer comes as plain XML
        except ElementTree.ParseError:
            raise OpenDartError("OpenDART corpCode.xml: CORPCODE.xml is not valid XML") from None
        out = []
        for item in root.iter("list"):
            fields = {child.tag: (child.text or "").strip() for child in item}
            if not fields.get("corp_code"):
                raise OpenDartError("OpenDART corpCode.xml: an entry without corp_code")
            out.append(
                CorpCode(
                    fields["corp_code"],
                    fields.get("corp_name", ""),
                    fields.get("stock_code", ""),
                    fields.get("modify_date", ""),
                )
            )
        return out

    def _xml_error(self, content: bytes) -> ElementTree.Element:
        """An error answer instead of the ZIP: XML (as documented) or JSON."""
        try:
            body = json.loads(content)
            status, message = str(body.get("status", "")), str(body.get("message", ""))
        except (ValueError, UnicodeDecodeError, AttributeError):
            try:
                root = ElementTree.fromstring(content)
            except ElementTree.ParseError:
                raise OpenDartError(
                    "OpenDART corpCode.xml: the answer is neither a ZIP nor XML"
                ) from None
            status, message = root.findtext("status") or "", root.findtext("message") or ""
        self._check("corpCode.xml", status, message)
        raise OpenDartError(f"OpenDART corpCode.xml: status {status} without a ZIP file")

    def periodic_reports(
        self, corp_code: str, start: date | str, end: date | str, page_count: int = 100
    ) -> list[Filing]:
        """Periodic-report filings (restatements included), oldest first."""
        filings: list[Filing] = []
        page, pages = 1, 1
        while page <= pages:
            params = {
                "corp_code": corp_code, "bgn_de": _yyyymmdd(start), "end_de": _yyyymmdd(end),
                "pblntf_ty": "A", "last_reprt_at": "N", "page_no": page, "page_count": page_count,
            }  # fmt: skip
            body = self._json("list.json", params)
            for row in self._rows("list.json", body):
                filing = self._filing(row)
                if filing is not None:
                    filings.append(filing)
            pages = int(body.get("total_page") or 1) if body else 0
            page += 1
        return sorted(filings, key=lambda f: (f.rcept_dt, f.rcept_no))

    @staticmethod
    def _filing(row: dict[str, Any]) -> Filing | None:
        try:
            rcept_no, rcept_dt, name = str(row["rcept_no"]), str(row["rcept_dt"]), row["report_nm"]
            filed = _date(rcept_dt)
        except (KeyError, ValueError, TypeError):
            raise OpenDartError(f"OpenDART list.json: a malformed filing row {row!r}") from None
        period = parse_report_name(str(name))
        if period is None:
            return None
        year, code, period_end = period
        restated = str(name).lstrip().startswith("[")
        return Filing(rcept_no, filed, str(name).strip(), year, code, period_end, restated)

    def financial_statements(
        self, corp_code: str, bsns_year: int, reprt_code: str, fs_div: str = "CFS"
    ) -> list[dict[str, Any]]:
        """Every account row of one report ([] for `013`, no such statement)."""
        if reprt_code not in REPORT_CODES:
            raise ValidationError(f"reprt_code must be one of {', '.join(REPORT_CODES)}")
        params = {
            "corp_code": corp_code, "bsns_year": str(bsns_year), "reprt_code": reprt_code,
            "fs_div": fs_div,
        }  # fmt: skip
        return self._rows("fnlttSinglAcntAll.json", self._json("fnlttSinglAcntAll.json", params))

    def share_counts(self, corp_code: str, bsns_year: int, reprt_code: str) -> list[dict[str, Any]]:
        params = {"corp_code": corp_code, "bsns_year": str(bsns_year), "reprt_code": reprt_code}
        return self._rows("stockTotqySttus.json", self._json("stockTotqySttus.json", params))

    def dividends(self, corp_code: str, bsns_year: int, reprt_code: str) -> list[dict[str, Any]]:
        params = {"corp_code": corp_code, "bsns_year": str(bsns_year), "reprt_code": reprt_code}
        return self._rows("alotMatter.json", self._json("alotMatter.json", params))


def corp_code_for(codes: dict[str, str], symbol: str) -> str:
    """The DART company code of a KRX stock code, or a clear error."""
    try:
        return codes[symbol]
    except KeyError:
        raise NotFoundError(
            f"OpenDART has no listed company with stock code {symbol!r} (corpCode.xml)",
            details={"symbol": symbol},
        ) from None
