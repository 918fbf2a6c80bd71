"""A member's hours per month and kind, cumulative hours and star level, and record list."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

import asyncpg

from contract.calendar import end_of_day, month_of
from contract.cursor import format_cursor
from contract.vocabulary import hours, kind_name, kind_rank, next_level_minutes, star_level
from reports.adapters.checkpoints import reflected
from reports.adapters.history_sql import parts
from reports.adapters.schema import LIVE, qualify
from reports.domain.names import display_name
from reports.domain.views import (
    Correction,
    KindTotals,
    MemberHours,
    MemberRecord,
    MemberRecords,
    MonthHours,
    Page,
)
from reports.service.ports import Directory


def _hours_sql(as_of: bool) -> str:
    return qualify(LIVE, f"""
WITH {parts("$3" if as_of else None)}
SELECT local_date, kind, category, minutes FROM parts WHERE member_id = $2""")


async def member_exists(connection: asyncpg.Connection, tenant_id: str,
                        member_id: uuid.UUID) -> bool:
    return bool(await connection.fetchval(
        qualify(LIVE, "SELECT 1 FROM {s}.members WHERE tenant_id = $1 AND member_id = $2"),
        tenant_id, member_id,
    ))


async def member_hours(connection: asyncpg.Connection, directory: Directory, tenant_id: str,
                       member_id: uuid.UUID, *, from_month: str | None = None,
                       to_month: str | None = None, as_of: date | None = None) -> MemberHours:
    """Per month and kind; cumulative totals and the star level count every month (to as_of)."""
    args: list[object] = [tenant_id, member_id]
    if as_of is not None:
        args.append(end_of_day(as_of))
    rows = await connection.fetch(_hours_sql(as_of is not None), *args)
    # (month, kind) -> [minutes, attendance, person_times, unconfirmed]
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    cumulative = unconfirmed_total = 0
    for row in rows:
        month = month_of(row["local_date"])
        if row["minutes"] is None:
            unconfirmed_total += 1
        else:
            cumulative += row["minutes"]
        if (from_month and month < from_month) or (to_month and month > to_month):
            continue
        cell = cells[(month, row["kind"])]
        if row["minutes"] is None:
            cell[3] += 1
        else:
            cell[0] += row["minutes"]
            cell[1] += row["category"] == "attendance"
            cell[2] += 1
    months: list[MonthHours] = []
    for month in sorted({m for m, _ in cells}):
        kinds = [
            KindTotals(kind=kind, kind_name=kind_name(kind), minutes=c[0], hours=hours(c[0]),
                       attendance=c[1], person_times=c[2], unconfirmed=c[3])
            for kind in sorted({k for m, k in cells if m == month}, key=kind_rank)
            for c in [cells[(month, kind)]]
        ]
        minutes = sum(k.minutes for k in kinds)
        months.append(MonthHours(
            month=month, kinds=kinds, minutes=minutes, hours=hours(minutes),
            person_times=sum(k.person_times for k in kinds),
            unconfirmed=sum(k.unconfirmed for k in kinds),
        ))
    person = (await directory.on(connection).members(tenant_id, [member_id])).get(member_id)
    position = await reflected(connection, LIVE, tenant_id)
    return MemberHours(
        member_id=member_id, member_number=person.number if person else None,
        name=display_name(person.name if person else None), position=format_cursor(position),
        as_of=as_of, months=months, cumulative_minutes=cumulative,
        cumulative_hours=hours(cumulative), star_level=star_level(cumulative),
        minutes_to_next_level=next_level_minutes(cumulative), unconfirmed=unconfirmed_total,
    )



_RECORDS = """
SELECT p.participation_id, p.activity_id, a.title, p.kind, p.category, p.local_date, a.place,
       p.checked_in_at, p.checked_out_at, p.auto_checkout, p.minutes, p.confirmed_by,
       p.confirmed_at, p.revoked, count(*) OVER () AS total
FROM {s}.participations p
LEFT JOIN {s}.activities a ON a.tenant_id = p.tenant_id AND a.activity_id = p.activity_id
WHERE p.tenant_id = $1 AND p.member_id = $2
ORDER BY p.checked_in_at DESC, p.participation_id
LIMIT $3 OFFSET $4"""

_TRAIL = """
SELECT participation_id, action, minutes, previous_minutes, reason, actor_id, at
FROM {s}.participation_log
WHERE tenant_id = $1 AND participation_id = ANY($2)
ORDER BY position"""


async def member_records(connection: asyncpg.Connection, directory: Directory, tenant_id: str,
                         member_id: uuid.UUID, *, limit: int, offset: int) -> MemberRecords:
    rows = await connection.fetch(qualify(LIVE, _RECORDS), tenant_id, member_id, limit, offset)
    trail = await connection.fetch(qualify(LIVE, _TRAIL), tenant_id,
                                   [row["participation_id"] for row in rows])
    people = await directory.on(connection).organisers(
        tenant_id,
        [r["confirmed_by"] for r in rows if r["confirmed_by"]] + [t["actor_id"] for t in trail],
    )
    corrections: dict[uuid.UUID, list[Correction]] = defaultdict(list)
    for t in trail:
        corrections[t["participation_id"]].append(Correction(
            action=t["action"], minutes=t["minutes"], previous_minutes=t["previous_minutes"],
            reason=t["reason"], by=t["actor_id"], by_name=people.get(t["actor_id"]), at=t["at"],
        ))
    records = [
        MemberRecord(
            participation_id=r["participation_id"], activity_id=r["activity_id"],
            activity=r["title"] or "", kind=r["kind"], kind_name=kind_name(r["kind"]),
            category=r["category"], date=r["local_date"], place=r["place"] or "",
            checked_in_at=r["checked_in_at"], checked_out_at=r["checked_out_at"],
            auto_checkout=r["auto_checkout"],
            status="revoked" if r["revoked"] else
            ("unconfirmed" if r["minutes"] is None else "confirmed"),
            minutes=r["minutes"], hours=None if r["minutes"] is None else hours(r["minutes"]),
            confirmed_by=r["confirmed_by"], confirmed_by_name=people.get(r["confirmed_by"]),
            confirmed_at=r["confirmed_at"], corrections=corrections[r["participation_id"]],
        )
        for r in rows
    ]
    total = rows[0]["total"] if rows else await connection.fetchval(
        qualify(LIVE, """SELECT count(*) FROM {s}.participations
            WHERE tenant_id = $1 AND member_id = $2"""), tenant_id, member_id)
    position = await reflected(connection, LIVE, tenant_id)
    return MemberRecords(
        member_id=member_id, position=format_cursor(position), records=records,
        page=Page(limit=limit, offset=offset, total=total,
                  next_offset=offset + limit if offset + limit < total else None),
    )
