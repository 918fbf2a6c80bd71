"""Unit reports over the tree as it was: activity per kind, the community summary, and the
honor roll's candidates. All take $1 tenant, $2 unit, $3/$4 the period, and as of a date
$5 the instant it ends (see history_sql)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg

from contract.calendar import end_of_day, month_bounds
from contract.cursor import format_cursor
from contract.vocabulary import hours, kind_name, kind_rank
from reports.adapters.checkpoints import reflected
from reports.adapters.history_sql import history
from reports.adapters.schema import LIVE, qualify
from reports.domain.summary import summary_text
from reports.domain.views import CommunitySummary, UnitActivity, UnitKindRow

_CREDITED = """
credited AS (
    SELECT pa.* FROM spans
    JOIN parts pa ON pa.member_id = spans.member_id
        -- The period's bounds again, so the index on (member_id, local_date) applies.
        AND pa.local_date >= $3::date AND pa.local_date < $4::date
        AND pa.local_date >= spans.d_from AND pa.local_date < spans.d_to
)"""

_BY_KIND = f"""
WITH RECURSIVE {{subtree}}, {{spans}}, {{parts}}, {_CREDITED}
SELECT kind,
       count(DISTINCT member_id) FILTER (WHERE minutes IS NOT NULL) AS participants,
       count(*) FILTER (WHERE minutes IS NOT NULL) AS person_times,
       coalesce(sum(minutes), 0) AS minutes,
       count(*) FILTER (WHERE minutes IS NOT NULL AND category = 'attendance') AS attendance,
       count(*) FILTER (WHERE minutes IS NULL) AS unconfirmed
FROM credited
GROUP BY GROUPING SETS ((kind), ())"""

_HELD = """
WITH RECURSIVE {subtree}
SELECT a.kind, count(*) AS activities
FROM subtree s
JOIN {s}.activities a ON a.tenant_id = $1 AND a.host_unit_id = s.unit_id
    AND a.local_date >= s.valid_from AND a.local_date < s.valid_to
WHERE {held}
GROUP BY a.kind"""
# Held means started: an activity scheduled for later this month has not been held yet.
_HELD_NOW = _HELD.replace("{held}", "NOT a.cancelled AND a.starts_at <= now()")
# Started by then and not cancelled by then. A row cancelled before cancelled_at existed
# (r0003, until a rebuild) has no time: it stays out, as it used to.
_HELD_AS_OF = _HELD.replace("{held}", """a.starts_at < $5::timestamptz
    AND (NOT a.cancelled OR a.cancelled_at >= $5::timestamptz)""")

# In-service members reported to the unit or below on the day [$3, $4) = that one day.
_REPORTED = """
WITH RECURSIVE {subtree}, {spans}
SELECT count(DISTINCT spans.member_id)
FROM spans JOIN {s}.members m ON m.tenant_id = $1 AND m.member_id = spans.member_id
WHERE m.kind = 'in_service'"""

# Each member's confirmed time in the counted kinds; their numbers and names come from the
# directory port afterwards (the ledger may be in another database).
_CANDIDATES = f"""
WITH RECURSIVE {{subtree}}, {{spans}}, {{parts}}, {_CREDITED}
SELECT member_id, sum(minutes) AS minutes, count(*) AS activities,
       min(checked_in_at) AS first_check_in
FROM credited
WHERE minutes IS NOT NULL AND kind = ANY($5::text[])
GROUP BY member_id"""

_UNIT = "SELECT unit_id, kind, name FROM {s}.units WHERE tenant_id = $1 AND unit_id = $2"

_WITHIN = """
WITH RECURSIVE {subtree}
SELECT EXISTS (SELECT 1 FROM subtree WHERE unit_id = $5)"""

_MEMBER_WITHIN = """
WITH RECURSIVE {subtree}, {spans}
SELECT EXISTS (SELECT 1 FROM spans WHERE member_id = $5)"""

FOREVER = (date.min, date.max)


async def unit(connection: asyncpg.Connection, tenant_id: str,
               unit_id: uuid.UUID) -> asyncpg.Record | None:
    return await connection.fetchrow(qualify(LIVE, _UNIT), tenant_id, unit_id)


async def within(connection: asyncpg.Connection, tenant_id: str, scope_unit_id: uuid.UUID,
                 unit_id: uuid.UUID) -> bool:
    """Was `unit_id` ever the scope unit or below it?"""
    return await connection.fetchval(qualify(LIVE, history(_WITHIN, None)), tenant_id,
                                     scope_unit_id, *FOREVER, unit_id)


async def member_within(connection: asyncpg.Connection, tenant_id: str,
                        scope_unit_id: uuid.UUID, member_id: uuid.UUID) -> bool:
    """Did the member ever report to the scope unit or a unit below it?"""
    return await connection.fetchval(qualify(LIVE, history(_MEMBER_WITHIN, None)), tenant_id,
                                     scope_unit_id, *FOREVER, member_id)


async def unit_activity(connection: asyncpg.Connection, tenant_id: str, unit_id: uuid.UUID,
                        month: str, *, as_of: date | None = None) -> UnitActivity | None:
    row = await unit(connection, tenant_id, unit_id)
    if row is None:
        return None
    start, end = month_bounds(month)
    period = (tenant_id, unit_id, start, end)
    # As of a date: one more parameter, $5, the instant that day ends.
    if as_of is not None:
        end = min(end, as_of + timedelta(days=1))
        parameter, cutoff, held_sql = "$5", (end_of_day(as_of),), _HELD_AS_OF
    else:
        parameter, cutoff, held_sql = None, (), _HELD_NOW
    by_kind = await connection.fetch(qualify(LIVE, history(_BY_KIND, parameter)), *period,
                                     *cutoff)
    held = {r["kind"]: r["activities"] for r in await connection.fetch(
        qualify(LIVE, history(held_sql, parameter)), *period, *cutoff)}
    day = min(end, month_bounds(month)[1]) - timedelta(days=1)
    reported = await connection.fetchval(qualify(LIVE, history(_REPORTED, parameter)),
                                         tenant_id, unit_id, day, day + timedelta(days=1),
                                         *cutoff)
    totals = next((r for r in by_kind if r["kind"] is None), None)
    per_kind = {r["kind"]: r for r in by_kind if r["kind"] is not None}
    kinds = []
    for kind in sorted(set(per_kind) | set(held), key=kind_rank):
        r = per_kind.get(kind)
        minutes = r["minutes"] if r else 0
        kinds.append(UnitKindRow(
            kind=kind, kind_name=kind_name(kind), activities=held.get(kind, 0),
            participants=r["participants"] if r else 0,
            person_times=r["person_times"] if r else 0, minutes=minutes, hours=hours(minutes),
            attendance=r["attendance"] if r else 0, unconfirmed=r["unconfirmed"] if r else 0,
        ))
    minutes = totals["minutes"] if totals else 0
    position = await reflected(connection, LIVE, tenant_id)
    return UnitActivity(
        unit_id=unit_id, unit_name=row["name"], unit_kind=row["kind"], month=month,
        position=format_cursor(position), as_of=as_of, kinds=kinds,
        activities=sum(held.values()),
        participants=totals["participants"] if totals else 0,
        person_times=totals["person_times"] if totals else 0,
        minutes=minutes, hours=hours(minutes), members_reported=reported,
    )


def community_summary(report: UnitActivity) -> CommunitySummary:
    return CommunitySummary(
        unit_id=report.unit_id, unit_name=report.unit_name, month=report.month,
        position=report.position,
        text=summary_text(report.members_reported, report.kinds, report.person_times,
                          report.participants, report.hours),
        members_reported=report.members_reported, activities=report.activities,
        person_times=report.person_times, participants=report.participants,
        minutes=report.minutes, hours=report.hours,
    )


async def honor_roll_totals(connection: asyncpg.Connection, tenant_id: str,
                            unit_id: uuid.UUID, month: str,
                            kinds: list[str]) -> list[asyncpg.Record]:
    """Members with confirmed time in the month's counted kinds: member_id, minutes,
    activities, first_check_in."""
    start, end = month_bounds(month)
    return await connection.fetch(
        qualify(LIVE, history(_CANDIDATES, None)),
        tenant_id, unit_id, start, end, kinds,
    )

