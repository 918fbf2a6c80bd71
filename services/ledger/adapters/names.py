"""Names of members and organisers by id, for another service that shows people (the
reports, when it runs against this ledger from another database).

Answered with the functions the ledger publishes for a co-located reader
(`ledger.member_names`, `ledger.organiser_names`, revision 0002), so both ways give the
same names: a member's name is None once erased. `units` narrows the answer to members
reported to, and organisers of, those units (a scoped caller's subtree); None: the tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec


class MemberName(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    # Both None once the member's personal data were erased.
    member_number: str | None
    name: str | None


class OrganiserName(msgspec.Struct, frozen=True, kw_only=True):
    organiser_id: uuid.UUID
    name: str


_MEMBERS = """
SELECT n.member_id, n.member_number, n.name
FROM ledger.member_names($1, $2::uuid[]) n
WHERE $3::uuid[] IS NULL OR EXISTS (
    SELECT 1 FROM ledger.member_catalogue c
    WHERE c.tenant_id = $1 AND c.member_id = n.member_id AND c.unit_id = ANY($3::uuid[]))
ORDER BY n.member_id"""

_ORGANISERS = """
SELECT n.organiser_id, n.name
FROM ledger.organiser_names($1, $2::uuid[]) n
WHERE $3::uuid[] IS NULL OR EXISTS (
    SELECT 1 FROM ledger.organisers o
    WHERE o.tenant_id = $1 AND o.organiser_id = n.organiser_id AND o.unit_id = ANY($3::uuid[]))
ORDER BY n.organiser_id"""


class Names:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def members(self, tenant_id: str, member_ids: Sequence[uuid.UUID],
                      units: Sequence[uuid.UUID] | None) -> list[MemberName]:
        rows = await self._fetch(_MEMBERS, tenant_id, member_ids, units)
        return [MemberName(**dict(row)) for row in rows]

    async def organisers(self, tenant_id: str, organiser_ids: Sequence[uuid.UUID],
                         units: Sequence[uuid.UUID] | None) -> list[OrganiserName]:
        rows = await self._fetch(_ORGANISERS, tenant_id, organiser_ids, units)
        return [OrganiserName(**dict(row)) for row in rows]

    async def _fetch(self, sql: str, tenant_id: str, ids: Sequence[uuid.UUID],
                     units: Sequence[uuid.UUID] | None) -> list[asyncpg.Record]:
        if not ids:
            return []
        return await self._pool.fetch(sql, tenant_id, list(set(ids)),
                                      None if units is None else list(units))
