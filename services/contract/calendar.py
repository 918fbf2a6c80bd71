"""Asia/Shanghai calendar: every date, month boundary, quarter and window is Shanghai's."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contract.problems import invalid

SHANGHAI = ZoneInfo("Asia/Shanghai")
# `(?!\n)`: Python's `$` also matches before a final line feed (see contract.bounds).
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$(?!\n)")
QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$(?!\n)")
# The years the ledger can hold a record for: before the first volunteer records, or after
# the calendar's end (9999-12-31 has no next day), is refused at the door.
FIRST_YEAR, LAST_YEAR = 1949, 9998


def shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the ledger only handles timezone-aware instants")
    return moment.astimezone(SHANGHAI)


def local_date(moment: datetime) -> date:
    return shanghai(moment).date()


def month_of(moment: datetime | date) -> str:
    """'YYYY-MM' of the Shanghai month an instant (or a Shanghai date) falls in."""
    day = local_date(moment) if isinstance(moment, datetime) else moment
    return f"{day.year:04d}-{day.month:02d}"


def month_name(month: str) -> str:
    """"2026-03" as the committees write it: "2026年3月"."""
    return f"{month[:4]}年{int(month[5:7])}月"


def whole_minutes(span: timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))


def _year(text: str, what: str) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{what} out of range: years {FIRST_YEAR}–{LAST_YEAR}")
    return year


def month_bounds(month: str) -> tuple[date, date]:
    """First day of the month and first day of the next. Raises ValueError if not YYYY-MM."""
    match = MONTH.match(month)
    if not match:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    year, number = _year(match[1], "month"), int(match[2])
    start = date(year, number, 1)
    end = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return start, end


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """'2026Q1' (or '2026-Q1') -> first day of the quarter and first day of the next."""
    match = QUARTER.match(quarter)
    if not match:
        raise ValueError(f"not a quarter (YYYYQn): {quarter!r}")
    year, number = _year(match[1], "quarter"), int(match[2])
    start = date(year, 3 * number - 2, 1)
    end = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return start, end


def in_calendar(day: date, field: str, *, source: str | None = None) -> date:
    """A date (or instant) a record may carry, or refused: outside these years the
    calendar arithmetic (the next day, the UTC instant of a Shanghai time) overflows."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise invalid("out_of_calendar", f"年份须在{FIRST_YEAR}至{LAST_YEAR}之间",
                      f"years {FIRST_YEAR}–{LAST_YEAR} only", field, source=source)
    return day


def valid_month(month: str, field: str = "month", *, source: str | None = None) -> str:
    """A month 'YYYY-MM' a record may carry, or refused."""
    try:
        month_bounds(month)
    except ValueError:
        raise invalid("invalid_month", f"月份格式应为 YYYY-MM（{FIRST_YEAR}–{LAST_YEAR}年）",
                      f"a month YYYY-MM, years {FIRST_YEAR}–{LAST_YEAR}", field,
                      source=source) from None
    return month


def valid_quarter(quarter: str, field: str = "quarter", *,
                  source: str | None = None) -> str:
    """A quarter 'YYYYQn' (or 'YYYY-Qn') a record may carry, or refused."""
    try:
        quarter_bounds(quarter)
    except ValueError:
        raise invalid("invalid_quarter", f"季度格式应为 YYYYQn（{FIRST_YEAR}–{LAST_YEAR}年）",
                      f"a quarter YYYYQn, years {FIRST_YEAR}–{LAST_YEAR}", field,
                      source=source) from None
    return quarter


def end_of_day(day: date) -> datetime:
    """The instant a Shanghai day ends (midnight starting the next day)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=SHANGHAI)


def today() -> date:
    return datetime.now(SHANGHAI).date()
