"""Reads the pages need that the event store's API does not offer: which activities exist,
which ones a member took part in, and names for a roster.

The ledger keeps no activity index (read models are the reports service's job); these scan
the events table through its indexes and stay small at a community's scale (tens of
activities a month). The organiser's list is capped at the newest `limit` activities.
"""

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

    async def activity_ids(self, tenant_id: str, limit: int = 200) -> list[uuid.UUID]:
        """Every scheduled activity of the tenant, newest scheduled start first."""
        rows = await self._pool.fetch(
            """SELECT (data->>'activity_id')::uuid AS activity_id FROM ledger.events
               WHERE tenant_id = $1 AND type = 'ActivityScheduled'
               ORDER BY (data->>'starts_at')::timestamptz DESC LIMIT $2""",
            tenant_id, limit,
        )
        return [row["activity_id"] for row in rows]

    async def member_activity_ids(self, tenant_id: str, member_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self._pool.fetch(
            """SELECT DISTINCT (data->>'activity_id')::uuid AS activity_id FROM ledger.events
               WHERE tenant_id = $1 AND type = 'CheckedIn'
                 AND (data->>'member_id')::uuid = $2""",
            tenant_id, member_id,
        )
        return [row["activity_id"] for row in rows]

    async def people(self, tenant_id: str, member_ids: Iterable[uuid.UUID]
                     ) -> dict[uuid.UUID, Person]:
        rows = await self._pool.fetch(
            """SELECT member_id, name, member_number FROM ledger.member_directory
               WHERE tenant_id = $1 AND member_id = ANY($2::uuid[])""",
            tenant_id, list(set(member_ids)),
        )
        return {row["member_id"]: Person(row["member_id"], row["name"], row["member_number"])
                for row in rows}
