"""CSV and Parquet bar files: the layouts people really have, validated before anything is kept.

Accepted layouts (column names match case-insensitively, surrounding spaces ignored):

* qts / generic: ``timestamp,open,high,low,close,volume`` (also ``ts``, ``date``, ``datetime``,
  ``time``, ``open_time``, ``unix``);
* a pandas-written file whose first column has no name (``df.to_csv()`` of a DatetimeIndex), or a
  Parquet file whose index is the time;
* Yahoo Finance: ``Date,Open,High,Low,Close,Adj Close,Volume`` (``Close`` is used; ``Adj Close``
  is ignored and noted in the report);
* pykrx: ``날짜,시가,고가,저가,종가,거래량[,등락률]``;
* CryptoDataDownload style volume columns such as ``Volume BTC`` (the first ``volume*`` column).

Timestamps: ISO-8601 text (with or without offset), dates, ``YYYYMMDD`` integers, or epoch
seconds / milliseconds / microseconds (told apart by magnitude).

Time convention: the index is the bar **open** time in UTC. Daily (and longer) bars are keyed
at 00:00 UTC of the trading date in the exchange's local calendar: ``2024-01-02`` on KRX becomes
``2024-01-02T00:00Z`` although the Seoul session opened at 00:00Z minus nine hours. That keeps
the date a user sees equal to the session date on every exchange and matches exchange_calendars'
session labels. Timestamps with an offset that all sit at local midnight are treated as dates
the same way; other timestamps with an offset are converted to UTC; naive intraday timestamps
are taken as UTC.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.market.frames import BAR_COLUMNS, infer_timeframe, normalize_bars
from qts.market.validation import BarsReport, RawBars, RowIssue, check_bars, repair_bars

TIME_ALIASES = (
    "timestamp",
    "ts",
    "datetime",
    "date",
    "time",
    "open_time",
    "opentime",
    "open time",
    "unix",
    "unix_timestamp",
    "날짜",
    "일자",
    "일시",
    "index",
    "",
)
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o", "시가", "open_price"),
    "high": ("high", "h", "고가", "high_price"),
    "low": ("low", "l", "저가", "low_price"),
    "close": ("close", "c", "종가", "close_price"),
    "volume": ("volume", "vol", "v", "거래량"),
}
ADJ_CLOSE_ALIASES = ("adj close", "adj_close", "adjclose", "adjusted close")
_DIGITS = re.compile(r"^\s*-?\d+(\.0+)?\s*$")


def load_bars_file(
    path: str | Path,
    *,
    repair: bool = False,
    exchange: str | None = None,
    drop_off_calendar: bool = False,
) -> pd.DataFrame:
    """Read, validate (and, if asked, repair) one bar file.

    Returns the canonical bars frame (UTC DatetimeIndex ``ts``; float ``open, high, low, close,
    volume``) with the report dict in ``df.attrs["report"]``. A file that breaks any rule raises
    `ValidationError` whose ``details`` is the row-level report, unless ``repair`` is true.
    With ``exchange`` (``XKRX``, ``XNYS``, ``binance``…) missing sessions and bars on days that
    are not sessions (e.g. a holiday row repeating the previous session) become report warnings;
    ``drop_off_calendar`` leaves the latter out (each one listed as a repair).
    """
    bars, report = load_bars_with_report(
        path, repair=repair, exchange=exchange, drop_off_calendar=drop_off_calendar
    )
    bars.attrs["report"] = report.to_dict()
    return bars


def load_bars_with_report(
    path: str | Path,
    *,
    repair: bool = False,
    exchange: str | None = None,
    drop_off_calendar: bool = False,
) -> tuple[pd.DataFrame, BarsReport]:
    path = Path(path)
    report = BarsReport(source=str(path))
    table, has_lines = _read_table(path)
    raw = parse_bar_table(table, report, has_lines=has_lines)
    report.rows_read = len(raw)
    report.errors = check_bars(raw)
    if report.errors and not repair:
        raise ValidationError(
            f"{path.name}: rejected, nothing loaded ({report.summary()}); "
            "fix the file or import with repair",
            details=report.to_dict(),
        )
    if report.errors:
        bars, report.repairs = repair_bars(raw)
        report.repaired = True
    else:
        bars = raw.values.copy()
        bars.index = pd.DatetimeIndex(raw.ts).rename("ts")
    bars = normalize_bars(bars)
    report.rows_valid = len(bars)
    if exchange and len(bars):
        bars = _check_calendar(bars, report, exchange, drop_off_calendar)
    return bars, report


def _check_calendar(
    bars: pd.DataFrame, report: BarsReport, exchange: str, drop: bool
) -> pd.DataFrame:
    """Warn about missing sessions and bars off the exchange calendar; drop those if asked."""
    from qts.market.calendars import missing_session_warnings

    report.warnings = missing_session_warnings(bars.index, exchange, infer_timeframe(bars.index))
    off = [w for w in report.warnings if w["rule"] == "not_a_session"]
    if not off:
        return bars
    days = bars.index.tz_convert(None).normalize()
    values = bars[list(BAR_COLUMNS)].to_numpy()
    for warning in off:
        rows = np.flatnonzero(days == pd.Timestamp(warning["ts"]))
        first = int(rows[0])
        # A provider's holiday placeholder repeats the previous session's bar exactly.
        if first > 0 and np.array_equal(values[first], values[first - 1]):
            previous = f"{bars.index[first - 1]:%Y-%m-%d}"
            warning["repeats"] = previous
            warning["message"] += f" (it repeats {previous}: a holiday placeholder)"
    if not drop:
        report.notes.append(
            f"{len(off)} bar day(s) fall outside the {exchange} calendar; "
            "import with drop_off_calendar (--drop-off-calendar) to leave them out"
        )
        return bars
    bad = days.isin(pd.DatetimeIndex([pd.Timestamp(w["ts"]) for w in off]))
    report.repairs += [
        RowIssue("not_a_session", None, None, ts.isoformat(), "bar outside the calendar", "dropped")
        for ts in bars.index[bad]
    ]
    report.warnings = [w for w in report.warnings if w["rule"] != "not_a_session"]
    report.rows_valid = int((~bad).sum())
    return bars[~bad]


def _read_table(path: Path) -> tuple[pd.DataFrame, bool]:
    if not path.is_file():
        raise ValidationError(f"no such file: {path}", details={"source": str(path)})
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".parquet", ".pq")):
            table = pd.read_parquet(path)
            if isinstance(table.index, pd.DatetimeIndex) or table.index.name:
                table = table.reset_index()
            return table, False
        sep = "\t" if ".tsv" in suffixes else ","
        return pd.read_csv(path, sep=sep, encoding="utf-8-sig", skipinitialspace=True), True
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationError(
            f"{path.name}: cannot be read as a table: {exc}", details={"source": str(path)}
        ) from exc


def _find_columns(table: pd.DataFrame, report: BarsReport) -> dict[str, str]:
    by_name = {str(c).strip().lower(): c for c in table.columns}
    found: dict[str, str] = {}
    for alias in TIME_ALIASES:
        if alias in by_name:
            found["ts"] = by_name[alias]
            break
    else:
        first = str(table.columns[0]).strip().lower() if len(table.columns) else ""
        if first.startswith("unnamed"):
            found["ts"] = table.columns[0]
    for col, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in by_name:
                found[col] = by_name[alias]
                break
    if "volume" not in found:
        for name, original in by_name.items():
            if name.startswith("volume"):
                found["volume"] = original
                break
    if any(a in by_name for a in ADJ_CLOSE_ALIASES):
        report.notes.append("'Adj Close' ignored: close is the traded (split-adjusted) close")
    return found


def parse_bar_table(table: pd.DataFrame, report: BarsReport, *, has_lines: bool) -> RawBars:
    """Map columns and parse values; rows that cannot be parsed become NaT/NaN for the checks."""
    found = _find_columns(table, report)
    missing = [c for c in ("ts", *BAR_COLUMNS) if c not in found]
    if missing:
        names = ["timestamp" if c == "ts" else c for c in missing]
        issue = RowIssue(
            "required_columns",
            None,
            1 if has_lines else None,
            None,
            f"missing column(s) {', '.join(names)}; found {[str(c) for c in table.columns]}",
        )
        report.errors = [issue]
        raise ValidationError(
            f"{report.source}: rejected, missing column(s): {', '.join(names)}",
            details=report.to_dict(),
        )
    raw_ts = table[found["ts"]]
    values = pd.DataFrame({c: _numbers(table[found[c]]) for c in BAR_COLUMNS})
    lines = np.arange(2, len(table) + 2) if has_lines else None
    return RawBars(
        ts=parse_timestamps(raw_ts),
        values=values,
        raw_ts=raw_ts.reset_index(drop=True),
        lines=lines,
    )


def _numbers(column: pd.Series) -> pd.Series:
    """Floats of a column; text pandas cannot parse but Python can (`1e400` under pandas 2 is
    text, not inf) is read by Python, so an overflow is reported as non-finite, not missing."""
    out = pd.to_numeric(column, errors="coerce").astype("float64")
    unread = out.isna() & column.notna()
    for i in np.flatnonzero(unread.to_numpy()):
        with contextlib.suppress(TypeError, ValueError):
            out.iloc[i] = float(str(column.iloc[i]).strip())
    return out


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Parse a column of times to UTC (NaT where unparseable); see the module doc for the rules."""
    values = values.reset_index(drop=True)
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        return _to_utc(pd.Series(values))
    if pd.api.types.is_numeric_dtype(values):
        return _from_numbers(pd.to_numeric(values, errors="coerce"))
    text = values.astype("string").str.strip()
    nonnull = text.dropna()
    if len(nonnull) and nonnull.str.match(_DIGITS).all():
        return _from_numbers(pd.to_numeric(text, errors="coerce"))
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):  # mixed offsets: let pandas convert each to UTC
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    failed = parsed.isna() & text.notna()
    if failed.any():  # other spellings (`12/05/2023`, `5 Dec 2023`), one value at a time
        retry = pd.to_datetime(text[failed], format="mixed", errors="coerce", utc=True)
        parsed = _to_utc(parsed)
        parsed[failed] = retry
    return _to_utc(parsed)


def _to_utc(parsed: pd.Series) -> pd.Series:
    parsed = pd.Series(pd.to_datetime(parsed))
    if parsed.dt.tz is None:
        return parsed.dt.tz_localize("UTC").dt.as_unit("ns")
    local = parsed.dropna()
    if len(local) and (local == local.dt.normalize()).all() and str(parsed.dt.tz) != "UTC":
        # All at local midnight: these are session dates, keyed at 00:00 UTC of that date.
        return pd.to_datetime(parsed.dt.strftime("%Y-%m-%d"), utc=True).dt.as_unit("ns")
    return parsed.dt.tz_convert("UTC").dt.as_unit("ns")


def _from_numbers(numbers: pd.Series) -> pd.Series:
    finite = numbers.dropna()
    if not len(finite):
        return pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns, UTC]")
    is_int = bool((finite == finite.round()).all())
    if is_int and finite.between(19000101, 21001231).all():
        as_text = numbers.astype("Int64").astype("string")
        return pd.to_datetime(as_text, format="%Y%m%d", errors="coerce", utc=True).dt.as_unit("ns")
    magnitude = finite.abs().max()
    unit = (
        "s"
        if magnitude < 1e11
        else "ms"
        if magnitude < 1e14
        else "us"
        if magnitude < 1e17
        else "ns"
    )
    return pd.to_datetime(numbers, unit=unit, errors="coerce", utc=True).dt.as_unit("ns")
