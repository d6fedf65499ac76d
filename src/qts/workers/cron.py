"""Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC.

Fields accept `*`, numbers, ranges `a-b`, lists `a,b` and steps `*/n` or `a-b/n`; day-of-week
is 0-6 with 0 = Sunday (7 is accepted for Sunday too), as in crontab(5). As in cron, when both
day-of-month and day-of-week are restricted a day matching either one is a match.
The same strings are handed to Celery's `crontab`, which reads them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from qts.core.errors import ValidationError

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day_of_month", 1, 31), ("month", 1, 12),
          ("day_of_week", 0, 7))  # fmt: skip
SEARCH_LIMIT_MINUTES = 366 * 24 * 60 * 5  # Feb 29 on a given weekday can be years away


def _parse_field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = lo, hi
            elif "-" in body:
                a, b = body.split("-", 1)
                start, end = int(a), int(b)
            else:
                start = end = int(body)
        except ValueError:
            raise ValidationError(f"cron {name} field {text!r} is not valid") from None
        if step < 1 or start < lo or end > hi or start > end:
            raise ValidationError(f"cron {name} field {text!r} is out of range {lo}-{hi}")
        values.update(range(start, end + 1, step))
    if name == "day_of_week" and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class CronSpec:
    expr: str
    minute: frozenset[int]
    hour: frozenset[int]
    day_of_month: frozenset[int]
    month: frozenset[int]
    day_of_week: frozenset[int]
    dom_any: bool
    dow_any: bool

    @classmethod
    def parse(cls, expr: str) -> CronSpec:
        parts = expr.split()
        if len(parts) != 5:
            raise ValidationError(f"cron expression {expr!r} needs 5 fields, has {len(parts)}")
        minute, hour, dom, month, dow = (
            _parse_field(p, n, lo, hi) for p, (n, lo, hi) in zip(parts, FIELDS, strict=True)
        )
        return cls(expr, minute, hour, dom, month, dow, parts[2] == "*", parts[4] == "*")

    @property
    def fields(self) -> list[str]:
        return self.expr.split()

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.day_of_month
        dow = (t.isoweekday() % 7) in self.day_of_week
        if self.dom_any or self.dow_any:
            return dom and dow
        return dom or dow

    def matches(self, t: datetime) -> bool:
        return (
            t.minute in self.minute
            and t.hour in self.hour
            and t.month in self.month
            and self._day_matches(t)
        )

    def next_after(self, t: datetime) -> datetime:
        """The first matching minute strictly after `t` (an aware UTC datetime)."""
        candidate = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(SEARCH_LIMIT_MINUTES):
            if candidate.month not in self.month or not self._day_matches(candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if candidate.hour not in self.hour:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0)
                continue
            if candidate.minute in self.minute:
                return candidate
            candidate += timedelta(minutes=1)
        raise ValidationError(f"cron expression {self.expr!r} never matches")
