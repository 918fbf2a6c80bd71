"""The committee dashboard's figures, from the read models as the tree was at the time
(see history_sql): per month of one year, for a unit's subtree and for each unit directly
below it. Three queries per unit: what was held, what was credited, who was reported."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from contract.cursor import format_cursor
from contract.vocabulary import hours
from reports.adapters.checkpoints import reflected
from reports.adapters.history_sql import history
from reports.adapters.schema import LIVE, qualify
from reports.domain.dashboard import (
    Dashboard,
    DashboardMonth,
    DashboardUnit,
    month_labels,
    rate,
)

# Held: started by now and not cancelled (a patrol scheduled for tonight is not held yet).
_HELD = """
WITH RECURSIVE {subtree}
SELECT to_char(a.local_date, 'YYYY-MM') AS month, count(*) AS activities
FROM subtree s
JOIN {s}.activities a ON a.tenant_id = $1 AND a.host_unit_id = s.unit_id
    AND a.local_date >= s.valid_from AND a.local_date < s.valid_to
WHERE NOT a.cancelled AND a.starts_at < now()
GROUP BY 1"""

_CREDITED = """
WITH RECURSIVE {subtree}, {spans}, {parts}
SELECT to_char(pa.local_date, 'YYYY-MM') AS month,
       count(*) FILTER (WHERE pa.minutes IS NOT NULL) AS person_times,
       coalesce(sum(pa.minutes), 0) AS minutes,
       count(DISTINCT pa.member_id) FILTER (
           WHERE pa.minutes IS NOT NULL AND m.kind = 'in_service') AS served
FROM spans
JOIN parts pa ON pa.member_id = spans.member_id
    AND pa.local_date >= $3::date AND pa.local_date < $4::date
    AND pa.local_date >= spans.d_from AND pa.local_date < spans.d_to
JOIN {s}.members m ON m.tenant_id = $1 AND m.member_id = pa.member_id
GROUP BY 1"""

# In-service members reported on each month's last day.
_REPORTED = """
WITH RECURSIVE {subtree}, {spans}
SELECT to_char(d.last_day, 'YYYY-MM') AS month, count(DISTINCT spans.member_id) AS reported
FROM (SELECT (g + interval '1 month' - interval '1 day')::date AS last_day
      FROM generate_series($3::date, $4::date - 1, interval '1 month') g) d
JOIN spans ON spans.d_from <= d.last_day AND spans.d_to > d.last_day
JOIN {s}.members m ON m.tenant_id = $1 AND m.member_id = spans.member_id
WHERE m.kind = 'in_service'
GROUP BY 1"""

# The units directly below, as the tree stands today.
_CHILDREN = """
SELECT u.unit_id, u.kind, u.name
FROM {s}.unit_parents p
JOIN {s}.units u ON u.tenant_id = p.tenant_id AND u.unit_id = p.unit_id
WHERE p.tenant_id = $1 AND p.parent_id = $2 AND p.valid_to = 'infinity'
ORDER BY u.name, u.unit_id"""

_UNIT = "SELECT unit_id, kind, name FROM {s}.units WHERE tenant_id = $1 AND unit_id = $2"


async def _unit_year(connection: asyncpg.Connection, tenant_id: str, row: asyncpg.Record,
                     year: int) -> DashboardUnit:
    period = (tenant_id, row["unit_id"], date(year, 1, 1), date(year + 1, 1, 1))
    held = {r["month"]: r["activities"]
            for r in await connection.fetch(qualify(LIVE, history(_HELD, None)), *period)}
    credited = {r["month"]: r for r in await connection.fetch(
        qualify(LIVE, history(_CREDITED, None)), *period)}
    reported = {r["month"]: r["reported"] for r in await connection.fetch(
        qualify(LIVE, history(_REPORTED, None)), *period)}
    months = []
    for month in month_labels(year):
        c = credited.get(month)
        minutes = c["minutes"] if c else 0
        served = c["served"] if c else 0
        months.append(DashboardMonth(
            month=month, activities=held.get(month, 0),
            person_times=c["person_times"] if c else 0, minutes=minutes, hours=hours(minutes),
            members_served=served, members_reported=reported.get(month, 0),
            participation_rate=rate(served, reported.get(month, 0))))
    minutes = sum(m.minutes for m in months)
    return DashboardUnit(
        unit_id=row["unit_id"], unit_name=row["name"], unit_kind=row["kind"], months=months,
        activities=sum(m.activities for m in months),
        person_times=sum(m.person_times for m in months), minutes=minutes,
        hours=hours(minutes))


async def dashboard(connection: asyncpg.Connection, tenant_id: str, unit_id: uuid.UUID,
                    year: int) -> Dashboard | None:
    row = await connection.fetchrow(qualify(LIVE, _UNIT), tenant_id, unit_id)
    if row is None:
        return None
    children = await connection.fetch(qualify(LIVE, _CHILDREN), tenant_id, unit_id)
    position = await reflected(connection, LIVE, tenant_id)
    return Dashboard(
        year=year, position=format_cursor(position),
        unit=await _unit_year(connection, tenant_id, row, year),
        children=[await _unit_year(connection, tenant_id, child, year) for child in children])
