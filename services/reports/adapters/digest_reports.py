"""The employer feedback digest (双报到): per employer and quarter, each in-service member's
reporting status at the quarter's end, activities and hours in the quarter."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from contract.calendar import quarter_bounds
from contract.cursor import format_cursor
from contract.vocabulary import hours
from reports.adapters.checkpoints import reflected
from reports.adapters.history_sql import SUBTREE
from reports.adapters.schema import LIVE, qualify
from reports.domain.names import display_name
from reports.domain.views import DigestRow, EmployerCount, EmployerDigest, EmployerList, Page
from reports.service.ports import Directory

STATUS_NAMES = {"reported": "已报到", "not_reported": "未报到", "left": "已离开"}

# $1 tenant, $2 scope unit (NULL: whole tenant), $3/$4 quarter, $5 employer, $6/$7 page.
_DIGEST = f"""
WITH RECURSIVE {SUBTREE}
SELECT m.member_id, cur.unit_id, cur.valid_from, u.name AS unit_name,
       coalesce(s.confirmed, 0) AS activities, coalesce(s.minutes, 0) AS minutes,
       coalesce(s.unconfirmed, 0) AS unconfirmed, count(*) OVER () AS total
FROM {{s}}.members m
LEFT JOIN LATERAL (
    SELECT unit_id, valid_from FROM {{s}}.memberships
    WHERE tenant_id = $1 AND member_id = m.member_id AND valid_from < $4
    ORDER BY valid_from DESC LIMIT 1
) cur ON true
LEFT JOIN {{s}}.units u ON u.tenant_id = $1 AND u.unit_id = cur.unit_id
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE minutes IS NOT NULL) AS confirmed, sum(minutes) AS minutes,
           count(*) FILTER (WHERE minutes IS NULL) AS unconfirmed
    FROM {{s}}.participations
    WHERE tenant_id = $1 AND member_id = m.member_id AND NOT revoked
      AND local_date >= $3 AND local_date < $4
) s ON true
WHERE m.tenant_id = $1 AND m.kind = 'in_service' AND m.employer = $5
  AND ($2::uuid IS NULL OR cur.unit_id IN (SELECT unit_id FROM subtree))
ORDER BY m.registered_on, m.member_id
LIMIT $6 OFFSET $7"""


# The employers a digest can be asked for: $1 tenant, $2 scope unit (NULL: whole tenant),
# $3/$4 quarter, $5 how many; in-service members counted as the digest would list them.
_EMPLOYERS = f"""
WITH RECURSIVE {SUBTREE}
SELECT m.employer, count(*) AS members
FROM {{s}}.members m
LEFT JOIN LATERAL (
    SELECT unit_id FROM {{s}}.memberships
    WHERE tenant_id = $1 AND member_id = m.member_id AND valid_from < $4
    ORDER BY valid_from DESC LIMIT 1
) cur ON true
WHERE m.tenant_id = $1 AND m.kind = 'in_service' AND m.employer IS NOT NULL
  AND ($2::uuid IS NULL OR cur.unit_id IN (SELECT unit_id FROM subtree))
GROUP BY m.employer
ORDER BY count(*) DESC, m.employer
LIMIT $5"""


async def employers(connection: asyncpg.Connection, tenant_id: str, quarter: str, *,
                    scope_unit_id: uuid.UUID | None, limit: int) -> EmployerList:
    start, end = quarter_bounds(quarter)
    rows = await connection.fetch(qualify(LIVE, _EMPLOYERS), tenant_id, scope_unit_id, start,
                                  end, limit)
    return EmployerList(quarter=_canonical(start), employers=[
        EmployerCount(employer=r["employer"], members=r["members"]) for r in rows])


async def employer_digest(connection: asyncpg.Connection, directory: Directory, tenant_id: str,
                          employer: str, quarter: str, *, scope_unit_id: uuid.UUID | None,
                          limit: int, offset: int) -> EmployerDigest:
    start, end = quarter_bounds(quarter)
    rows = await connection.fetch(qualify(LIVE, _DIGEST), tenant_id, scope_unit_id, start, end,
                                  employer, limit, offset)
    people = await directory.on(connection).members(tenant_id, [r["member_id"] for r in rows])
    members = []
    for r in rows:
        person = people.get(r["member_id"])
        status = ("reported" if r["unit_id"] is not None else
                  "left" if r["valid_from"] is not None else "not_reported")
        members.append(DigestRow(
            member_id=r["member_id"], member_number=person.number if person else None,
            name=display_name(person.name if person else None), status=status,
            status_name=STATUS_NAMES[status], unit_id=r["unit_id"], unit_name=r["unit_name"],
            reported_since=r["valid_from"] if r["unit_id"] is not None else None,
            activities=r["activities"], minutes=r["minutes"], hours=hours(r["minutes"]),
            unconfirmed=r["unconfirmed"],
        ))
    total = rows[0]["total"] if rows else 0
    return EmployerDigest(
        employer=employer, quarter=_canonical(start), position=format_cursor(
            await reflected(connection, LIVE, tenant_id)),
        members=members,
        page=Page(limit=limit, offset=offset, total=total,
                  next_offset=offset + limit if offset + limit < total else None),
    )


def _canonical(start: date) -> str:
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"
