"""Names from the ledger's member directory and organiser list, through the functions the
ledger publishes for them (`ledger.member_names`, `ledger.organiser_names`).

Events carry no names; a report that shows people looks them up here at the last moment,
so an erased member (name NULL) shows as erased everywhere at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import NamedTuple

import asyncpg


class Person(NamedTuple):
    number: str | None
    # None once erased.
    name: str | None


async def members(connection: asyncpg.Connection, tenant_id: str,
                  member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Person]:
    rows = await connection.fetch(
        "SELECT member_id, member_number, name FROM ledger.member_names($1, $2)",
        tenant_id, list(set(member_ids)),
    )
    return {row["member_id"]: Person(row["member_number"], row["name"]) for row in rows}


async def organisers(connection: asyncpg.Connection, tenant_id: str,
                     organiser_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await connection.fetch(
        "SELECT organiser_id, name FROM ledger.organiser_names($1, $2)",
        tenant_id, list(set(organiser_ids)),
    )
    return {row["organiser_id"]: row["name"] for row in rows}
