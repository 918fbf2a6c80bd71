"""The ledger's HTTP API, for the only writes the reports service asks for: publishing an
honor roll and recording objections. The caller's bearer token is forwarded, so the ledger
records the organiser and checks their scope itself."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec

from contract.events import HonorRollEntry


class PublishRequest(msgspec.Struct, frozen=True, kw_only=True):
    command_id: uuid.UUID
    unit_id: uuid.UUID
    month: str
    rule_set: str
    rule_version: int
    computed_at_position: str
    entries: list[HonorRollEntry]
    publicity_days: int = 7


class ObjectionRequest(msgspec.Struct, frozen=True, kw_only=True):
    command_id: uuid.UUID
    member_id: uuid.UUID | None
    objection: str


class LedgerResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger's answer, passed on as is (problem details included) with its status."""

    status_code: int
    body: dict[str, Any]


class LedgerClient:
    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport,
                                         timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def publish_honor_roll(self, token: str, request: PublishRequest) -> LedgerResponse:
        return await self._post("/api/v1/honor-rolls", token, request)

    async def record_objection(self, token: str, unit_id: uuid.UUID, month: str,
                               request: ObjectionRequest) -> LedgerResponse:
        return await self._post(f"/api/v1/honor-rolls/{unit_id}/{month}/objections", token,
                                request)

    async def _post(self, path: str, token: str, body: msgspec.Struct) -> LedgerResponse:
        response = await self._client.post(
            path, content=msgspec.json.encode(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            payload = response.json()
        except ValueError:
            payload = {"detail": response.text}
        return LedgerResponse(status_code=response.status_code,
                              body=payload if isinstance(payload, dict) else {"body": payload})
