"""Reads the pages need besides the lists (`ledger.adapters.listings`): names for a roster,
and the organisers' names a record's correction history shows (who answered)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Person:
    member_id: uuid.UUID
    name: str | None
    member_number: str | None


class PageQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def people(self, tenant_id: str, member_ids: Iterable[uuid.UUID]
                     ) -> dict[uuid.UUID, Person]:
        rows = await self._pool.fetch(
            """SELECT member_id, name, member_number FROM ledger.member_directory
               WHERE tenant_id = $1 AND member_id = ANY($2::uuid[])""",
            tenant_id, list(set(member_ids)),
        )
        return {row["member_id"]: Person(row["member_id"], row["name"], row["member_number"])
                for row in rows}

    async def organiser_names(self, tenant_id: str, organiser_ids: Iterable[uuid.UUID]
                              ) -> dict[uuid.UUID, str]:
        ids = list(set(organiser_ids))
        if not ids:
            return {}
        rows = await self._pool.fetch(
            """SELECT organiser_id, name FROM ledger.organisers
               WHERE tenant_id = $1 AND organiser_id = ANY($2::uuid[])""",
            tenant_id, ids,
        )
        return {row["organiser_id"]: row["name"] for row in rows}
