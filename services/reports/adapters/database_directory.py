"""The directory port over the functions the ledger publishes for names
(`ledger.member_names`, `ledger.organiser_names`), in the reports' own database or in the
ledger's (`FEED_DATABASE_URL`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection

import asyncpg

from reports.service.ports import Person


class DatabaseDirectory:
    """Reads on `executor`: the pool, or the connection a report reads its snapshot on.
    `apart`: the functions are in another database than the reports' (a pool there), so
    a report's connection cannot call them: names are read on the pool instead."""

    def __init__(self, executor: asyncpg.Pool | asyncpg.Connection, *,
                 apart: bool = False) -> None:
        self._executor = executor
        self._apart = apart

    def on(self, connection: asyncpg.Connection) -> DatabaseDirectory:
        return self if self._apart else DatabaseDirectory(connection)

    async def members(self, tenant_id: str,
                      member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Person]:
        if not member_ids:
            return {}
        rows = await self._executor.fetch(
            "SELECT member_id, member_number, name FROM ledger.member_names($1, $2)",
            tenant_id, list(set(member_ids)),
        )
        return {row["member_id"]: Person(row["member_number"], row["name"]) for row in rows}

    async def organisers(self, tenant_id: str,
                         organiser_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not organiser_ids:
            return {}
        rows = await self._executor.fetch(
            "SELECT organiser_id, name FROM ledger.organiser_names($1, $2)",
            tenant_id, list(set(organiser_ids)),
        )
        return {row["organiser_id"]: row["name"] for row in rows}
