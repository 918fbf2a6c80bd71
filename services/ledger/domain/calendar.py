"""Asia/Shanghai time: every date, month boundary and window in the ledger is Shanghai's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the ledger only handles timezone-aware instants")
    return moment.astimezone(SHANGHAI)


def local_date(moment: datetime) -> date:
    return shanghai(moment).date()


def month_of(moment: datetime) -> str:
    """'YYYY-MM' of the Shanghai month the instant falls in."""
    return shanghai(moment).strftime("%Y-%m")


def whole_minutes(span: timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))
