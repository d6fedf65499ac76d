"""Periodic reports of the 5 shipped KRX stocks, FY2022 annual to 2025 Q1, for the fake
OpenDART server.

The figures are APPROXIMATE (rounded from the companies' published consolidated results, some
simplified), meant to be realistic in size and sign, not exact: quarterly revenue and net income
of the parent's owners in trillion KRW (each quarter on its own, 3 months), equity of the
parent's owners at quarter end, shares, dividends per common share. Filing dates look like real
ones (annual mid-March, Q1 mid-May, half-year mid-August, Q3 mid-November) and are KRX trading
days. Special cases: Samsung's FY2023 annual report is restated (`[기재정정]`, 2024-04-19,
net income and equity +1 trillion); OpenDART has no statement (`013`) for LG Chem's 2023
half-year report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

QUARTERS = [f"{y}Q{q}" for y in (2022, 2023, 2024) for q in (1, 2, 3, 4)] + ["2025Q1"]
ANNUAL, HALF, Q1, Q3 = "11011", "11012", "11013", "11014"
# The report a quarter's figures come in, and its default filing date.
SCHEDULE = {
    (2022, ANNUAL): "2023-03-14", (2023, Q1): "2023-05-15", (2023, HALF): "2023-08-14",
    (2023, Q3): "2023-11-14", (2023, ANNUAL): "2024-03-12", (2024, Q1): "2024-05-16",
    (2024, HALF): "2024-08-14", (2024, Q3): "2024-11-14", (2024, ANNUAL): "2025-03-11",
    (2025, Q1): "2025-05-15",
}  # fmt: skip


@dataclass
class Company:
    corp_code: str
    name: str
    issued: int  # shares issued, all classes
    treasury: int
    revenue: list[float]  # trillion KRW per quarter, QUARTERS order
    net_income: list[float]  # of the parent's owners
    equity: list[float]  # of the parent's owners, at quarter end
    dps: dict[int, int]  # fiscal year -> cash dividend per common share (KRW)
    filed: dict[tuple[int, str], str] = field(default_factory=dict)  # overrides of SCHEDULE

    @property
    def shares(self) -> int:
        return self.issued - self.treasury


COMPANIES: dict[str, Company] = {
    "005930": Company(
        "00126380", "삼성전자", 5_969_782_550 + 822_886_700, 0,
        [77.78, 77.20, 76.78, 70.47, 63.75, 60.01, 67.40, 67.78, 71.92, 74.07, 79.10, 75.79,
         79.14],
        [11.13, 10.95, 9.14, 23.51, 1.40, 1.55, 5.50, 6.02, 6.62, 9.64, 10.10, 7.75, 8.22],
        [318.0, 330.0, 345.0, 345.2, 347.0, 349.0, 355.6, 353.2, 365.0, 380.0, 390.0, 391.7,
         393.0],
        {2022: 1444, 2023: 1444, 2024: 1446},
        {(2022, ANNUAL): "2023-03-07"},
    ),
    "000660": Company(
        "00164779", "SK하이닉스", 728_002_365, 39_800_000,
        [12.16, 13.81, 10.98, 7.67, 5.09, 7.31, 9.07, 11.31, 12.43, 16.42, 17.57, 19.77, 17.64],
        [1.98, 2.88, 1.10, -3.72, -2.59, -2.99, -2.18, -1.38, 1.92, 4.12, 5.75, 8.01, 8.11],
        [64.0, 68.0, 70.0, 66.3, 63.0, 60.0, 58.5, 57.0, 60.0, 65.5, 71.0, 80.4, 85.0],
        {2022: 1200, 2023: 1200, 2024: 1200},
        {(2023, ANNUAL): "2024-03-19", (2024, ANNUAL): "2025-03-18"},
    ),
    "005380": Company(
        "00164742", "현대자동차", 261_331_182, 12_800_000,
        [30.30, 35.99, 37.71, 38.52, 37.78, 42.25, 41.00, 41.67, 40.66, 45.02, 42.93, 46.62,
         44.41],
        [1.93, 2.97, 0.93, 1.53, 3.11, 3.24, 3.06, 2.42, 3.13, 3.56, 2.87, 2.26, 3.10],
        [80.0, 82.0, 85.0, 86.5, 90.0, 93.0, 96.0, 98.0, 101.0, 104.0, 107.0, 110.0, 112.0],
        {2022: 7000, 2023: 11400, 2024: 12000},
    ),
    "035420": Company(
        "00266961", "NAVER", 158_437_008, 5_900_000,
        [1.85, 2.05, 2.06, 2.28, 2.28, 2.41, 2.45, 2.56, 2.53, 2.61, 2.72, 2.89, 2.79],
        [0.21, 0.19, 0.16, 0.20, 0.31, 0.32, 0.36, 0.02, 0.45, 0.48, 0.59, 0.38, 0.55],
        [23.5, 23.8, 24.0, 24.1, 24.5, 24.9, 25.2, 25.5, 26.0, 26.6, 27.2, 27.8, 28.2],
        {2022: 914, 2023: 1002, 2024: 1130},
    ),
    "051910": Company(
        "00356361", "LG화학", 70_592_343 + 7_688_800, 366_000,
        [11.61, 12.94, 14.17, 12.14, 14.48, 14.94, 13.49, 12.39, 11.62, 12.30, 13.11, 11.58,
         11.99],
        [1.23, 0.80, 0.66, 0.22, 0.85, 0.50, 0.45, 0.25, 0.10, -0.05, 0.08, -0.81, 0.10],
        [31.0, 32.0, 33.0, 33.8, 35.0, 36.0, 37.0, 38.0, 38.5, 39.0, 39.5, 39.0, 39.2],
        {2022: 10000, 2023: 3500, 2024: 1000},
    ),
}  # fmt: skip

# (symbol, year, report): filed again as `[기재정정]` on a date, with these changes (trillion).
RESTATEMENTS = {("005930", 2023, ANNUAL): ("2024-04-19", {"net_income": 1.0, "equity": 1.0})}
NO_STATEMENT = {("051910", 2023, HALF)}
# Filers without a listing (no stock code) are in corpCode.xml too.
UNLISTED = [("00434003", "다코"), ("00430964", "굿앤엘에스")]


def filing_date(symbol: str, year: int, code: str) -> date:
    company = COMPANIES[symbol]
    return date.fromisoformat(company.filed.get((year, code), SCHEDULE[(year, code)]))
