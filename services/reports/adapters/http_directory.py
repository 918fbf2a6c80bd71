"""The directory port over the ledger's API (`POST /api/v1/names`), for a ledger in another
database. It asks with the configured read token of the one tenant this deployment reads
(`LEDGER_FEED_TOKEN`, tenant-wide: the ledger answers a scoped token for its subtree only),
in requests of up to `CHUNK` ids; it knows no names of other tenants.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

import msgspec

from reports.adapters.ledger_api import LedgerApi, unexpected
from reports.service.ports import Person

# Ids per request (the ledger takes up to 1,000 of each kind).
CHUNK = 500


class _Member(msgspec.Struct, frozen=True):
    member_id: uuid.UUID
    member_number: str | None
    name: str | None


class _Organiser(msgspec.Struct, frozen=True):
    organiser_id: uuid.UUID
    name: str


class _Names(msgspec.Struct, frozen=True):
    members: list[_Member]
    organisers: list[_Organiser]


_NAMES = msgspec.json.Decoder(_Names)


class HttpDirectory:
    def __init__(self, ledger: LedgerApi, tenant_id: str, token: str) -> None:
        self._ledger = ledger
        self._tenant_id = tenant_id
        self._token = token

    def on(self, connection: Any) -> HttpDirectory:
        return self

    async def members(self, tenant_id: str,
                      member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Person]:
        found: dict[uuid.UUID, Person] = {}
        for chunk in self._chunks(tenant_id, member_ids):
            names = await self._look_up({"member_ids": chunk})
            found.update({m.member_id: Person(m.member_number, m.name) for m in names.members})
        return found

    async def organisers(self, tenant_id: str,
                         organiser_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        found: dict[uuid.UUID, str] = {}
        for chunk in self._chunks(tenant_id, organiser_ids):
            names = await self._look_up({"organiser_ids": chunk})
            found.update({o.organiser_id: o.name for o in names.organisers})
        return found

    def _chunks(self, tenant_id: str, ids: Collection[uuid.UUID]) -> list[list[uuid.UUID]]:
        if tenant_id != self._tenant_id:
            return []
        unique = sorted(set(ids))
        return [unique[i:i + CHUNK] for i in range(0, len(unique), CHUNK)]

    async def _look_up(self, body: dict[str, list[uuid.UUID]]) -> _Names:
        response = await self._ledger.request(
            "POST", "/api/v1/names", self._token, content=msgspec.json.encode(body),
            headers={"Content-Type": "application/json"})
        if response.status_code != 200:
            raise unexpected(response)
        try:
            return _NAMES.decode(response.content)
        except msgspec.DecodeError:
            raise unexpected(response) from None
