"""The OpenDART client against the local fake (published formats, status codes) and the
reports -> fundamentals rules (TTM, known_at after the filing day) with hand-computed figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tests.fakes.opendart import API_KEY, FakeOpenDart

from qts.core.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from qts.market.opendart import OpenDartClient, OpenDartError, corp_code_for, parse_report_name
from qts.market.opendart_metrics import (
    Report,
    known_at_for,
    report_metrics,
    shares_outstanding,
    ttm,
)
from qts.services.data.fundamentals import company_reports

SAMSUNG = "00126380"
SHARES = 5_969_782_550 + 822_886_700  # Samsung's common and preferred shares (fixture)


@pytest.fixture
def fake() -> Iterator[FakeOpenDart]:
    with FakeOpenDart() as server:
        yield server


@pytest.fixture
def client(fake: FakeOpenDart) -> Iterator[OpenDartClient]:
    sleeps: list[float] = []
    with OpenDartClient(API_KEY, fake.api_url, sleep=sleeps.append, backoff_s=0.5) as c:
        c.sleeps = sleeps  # type: ignore[attr-defined]
        yield c


def test_report_names_and_known_at() -> None:
    assert parse_report_name("분기보고서 (2024.03)") == (2024, "11013", date(2024, 3, 31))
    assert parse_report_name("반기보고서 (2024.06)") == (2024, "11012", date(2024, 6, 30))
    assert parse_report_name("분기보고서 (2024.09)") == (2024, "11014", date(2024, 9, 30))
    assert parse_report_name("[기재정정]사업보고서 (2023.12)") == (
        2023,
        "11011",
        date(2023, 12, 31),
    )
    assert parse_report_name("주요사항보고서(자기주식취득결정)") is None
    assert parse_report_name("사업보고서 (2024.03)") is None  # a March fiscal year: not handled
    # Filed on 2024-05-16 (any time that day): known from 09:00:01 KST the next day.
    assert known_at_for(date(2024, 5, 16)) == datetime(2024, 5, 17, 0, 0, 1, tzinfo=UTC)


def test_corp_codes_filings_and_paging(client: OpenDartClient, fake: FakeOpenDart) -> None:
    codes = {c.stock_code: c.corp_code for c in client.corp_codes() if c.stock_code.strip()}
    assert codes == {
        "005930": SAMSUNG, "000660": "00164779", "005380": "00164742", "035420": "00266961",
        "051910": "00356361",
    }  # fmt: skip
    assert corp_code_for(codes, "005930") == SAMSUNG
    with pytest.raises(NotFoundError, match="no listed company with stock code '999999'"):
        corp_code_for(codes, "999999")
    filings = client.periodic_reports(SAMSUNG, "2023-01-01", "2025-06-30", page_count=4)
    assert len(fake.requests_for("list.json")) == 3  # 11 filings, 4 a page
    assert [f.rcept_dt for f in filings] == sorted(f.rcept_dt for f in filings)
    restated = [f for f in filings if f.restated]
    assert [(f.report_nm, f.rcept_dt) for f in restated] == [
        ("[기재정정]사업보고서 (2023.12)", date(2024, 4, 19))
    ]
    assert client.periodic_reports(SAMSUNG, "2026-01-01", "2026-06-30") == []  # 013: none


def test_status_codes(client: OpenDartClient, fake: FakeOpenDart) -> None:
    # 013 (no statement) is an empty answer, not an error.
    assert client.financial_statements("00356361", 2023, "11012") == []
    # 020 (request limit) waits and asks again, with backoff; persistent 020 is an error.
    fake.inject("rate_limit", 2, api="fnlttSinglAcntAll.json")
    rows = client.financial_statements(SAMSUNG, 2024, "11013")
    assert rows and rows[0]["rcept_no"].startswith("20240516")
    assert client.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]
    fake.inject("rate_limit", 9, api="list.json")
    with pytest.raises(RateLimitedError, match="status 020"):
        client.periodic_reports(SAMSUNG, "2024-01-01", "2024-12-31")
    fake.faults.clear()
    fake.inject("answer", api="list.json", answer=(200, {}, b"{not json"))
    with pytest.raises(OpenDartError, match=r"list\.json: the answer is not JSON"):
        client.periodic_reports(SAMSUNG, "2024-01-01", "2024-12-31")
    fake.inject("answer", api="list.json", answer=(200, {}, {"status": "000", "list": "x"}))
    with pytest.raises(OpenDartError, match="`list` is missing or not a list"):
        client.periodic_reports(SAMSUNG, "2024-01-01", "2024-12-31")
    with pytest.raises(OpenDartError, match="status 100: a request field has an invalid value"):
        client.financial_statements("99999999", 2024, "11013")
    fake.inject("answer", api="list.json", answer=(200, {}, {"status": "800", "message": "x"}))
    with pytest.raises(ServiceUnavailableError, match="status 800: the service is paused"):
        client.periodic_reports(SAMSUNG, "2024-01-01", "2024-12-31")
    wrong = "f" * 40
    with OpenDartClient(wrong, fake.api_url) as bad:
        with pytest.raises(AuthenticationError, match="status 010: the API key is not regist") as e:
            bad.corp_codes()  # an error answer to corpCode.xml comes as XML, not a ZIP
        assert wrong not in str(e.value) and wrong not in repr(e.value.details)


def test_ttm_figures_by_hand(client: OpenDartClient) -> None:
    """Samsung 2024 Q1 (fixture, trillion KRW): revenue YTD 71.92, FY2023 258.94, 2023 Q1
    63.75 -> TTM 267.11; net income 6.62 + 15.47 (FY2023 as restated) - 1.40 = 20.69;
    equity 365.0; reported EPS 975 + 2277 - 206 = 3046."""
    reports, missing = company_reports(client, SAMSUNG, date(2024, 1, 1), date(2024, 6, 30))
    assert missing == []
    by_period = {(r.bsns_year, r.reprt_code): r for r in reports}
    assert set(by_period) == {(2023, "11011"), (2024, "11013")}  # FY2023 fetched for the TTM
    q1, fy = by_period[(2024, "11013")], by_period[(2023, "11011")]
    assert fy.rcept_no.startswith("20240419") and fy.known_at == datetime(
        2024, 4, 20, 0, 0, 1, tzinfo=UTC
    )
    m = report_metrics(q1, fy)
    assert m["revenue"] == pytest.approx(267.11e12)
    assert m["net_income"] == pytest.approx(20.69e12)
    assert m["shares"] == SHARES
    assert m["sps"] == pytest.approx(267.11e12 / SHARES)
    assert m["bps"] == pytest.approx(365.0e12 / SHARES)
    assert m["roe"] == pytest.approx(20.69 / 365.0)
    assert m["eps"] == 975 + 2277 - 206 == 3046
    assert "dps" not in m
    assert report_metrics(fy, None)["dps"] == 1444
    assert report_metrics(fy, None)["eps"] == 2277  # the year itself
    assert ttm(q1, None, ("ifrs-full_Revenue",)) is None  # no prior year: no TTM


def test_metrics_from_hand_written_rows() -> None:
    """Half-year report: TTM = YTD + prior year - prior YTD; IS before CIS; SCE ignored."""
    rows = [
        {"sj_div": "SCE", "account_id": "ifrs-full_ProfitLoss", "thstrm_amount": "999"},
        {"sj_div": "IS", "account_id": "ifrs-full_Revenue", "thstrm_amount": "60",
         "thstrm_add_amount": "110", "frmtrm_add_amount": "100"},
        {"sj_div": "CIS", "account_id": "ifrs-full_ProfitLoss", "thstrm_add_amount": "20",
         "frmtrm_add_amount": "8"},
        {"sj_div": "BS", "account_id": "ifrs-full_Equity", "thstrm_amount": "400"},
    ]  # fmt: skip
    annual = [
        {"sj_div": "IS", "account_id": "ifrs-full_Revenue", "thstrm_amount": "210"},
        {"sj_div": "IS", "account_id": "ifrs-full_ProfitLoss", "thstrm_amount": "30"},
    ]
    t = datetime(2024, 8, 15, tzinfo=UTC)
    half = Report(2024, "11012", date(2024, 6, 30), "20240814000001", t, rows, shares=10.0)
    year = Report(2023, "11011", date(2023, 12, 31), "20240312000001", t, annual)
    m = report_metrics(half, year)
    assert m["revenue"] == 110 + 210 - 100 == 220
    assert m["net_income"] == 20 + 30 - 8 == 42
    assert m["eps"] == 42 / 10 and m["sps"] == 22.0 and m["bps"] == 40.0
    assert m["roe"] == 42 / 400
    assert shares_outstanding([{"se": "보통주", "distb_stock_co": "7"},
                               {"se": "합계", "distb_stock_co": "1,234"}]) == 1234  # fmt: skip


def test_cli_imports_a_csv_and_refuses_a_bad_one(fresh_data_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qts.cli.common import open_database
    from qts.cli.main import app
    from qts.services.ml.features import load_fundamentals

    runner = CliRunner()
    good = tmp_path / "samsung.csv"
    good.write_text(
        "symbol,metric,period_end,value,known_at\n"
        "005930,eps,2024-03-31,3046,2024-05-17T00:00:01Z\n"
        "005930,bps,2024-03-31,53734.4,2024-05-17T00:00:01Z\n"
    )
    r = runner.invoke(app, ["data", "fundamentals", "import", str(good)])
    assert r.exit_code == 0 and "stored 2 rows" in r.output, r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,metric,value\n005930,eps,1\n")
    r = runner.invoke(app, ["data", "fundamentals", "import", str(bad)])
    assert r.exit_code == 2 and "needs a date/period_end column" in r.output
    stored = load_fundamentals(open_database(), "005930", "XKRX")
    assert sorted(zip(stored["metric"], stored["value"], strict=True)) == [
        ("bps", 53734.4),
        ("eps", 3046.0),
    ]
