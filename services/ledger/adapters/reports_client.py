"""The ledger's calls to the reports service: the honor rolls and summaries it computes.

The reports API takes bearer tokens. The ledger calls it with one read-only, tenant-wide
`service` token per tenant, minted on first use and revoked when the ledger stops, so no
request mints anything. Whoever the ledger calls for (an organiser on the pages, a
publish command) has been checked against their own scope before the call.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import msgspec

from contract.problems import Refusal
from ledger.adapters.tokens import MintedToken, TokenStore
from ledger.domain.honor_rolls import ComputedRoll


def reports_url() -> str:
    """Where the ledger reaches the reports service (server to server)."""
    return os.environ.get("REPORTS_URL", "http://127.0.0.1:8001").rstrip("/")


class ReportsClient:
    def __init__(self, tokens: TokenStore, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._tokens = tokens
        self._client = httpx.AsyncClient(timeout=15, transport=transport)
        self._minted: dict[str, MintedToken] = {}
        self._minting = asyncio.Lock()

    async def _token(self, tenant_id: str) -> str:
        async with self._minting:
            minted = self._minted.get(tenant_id)
            if minted is None:
                minted = self._minted[tenant_id] = await self._tokens.mint(
                    tenant_id, label="ledger", role="service", can_write=False)
        return minted.token

    async def get(self, tenant_id: str, path: str,
                  params: dict[str, Any] | None = None) -> httpx.Response:
        token = await self._token(tenant_id)
        return await self._client.get(reports_url() + path, params=params,
                                      headers={"Authorization": f"Bearer {token}"})

    async def computed_roll(self, tenant_id: str, unit_id: uuid.UUID, month: str,
                            rule_set: str, rule_version: int | None) -> ComputedRoll:
        """The roll as the reports compute it now (their draft), to be frozen."""
        params: dict[str, Any] = {"draft": "true", "rule_set": rule_set}
        if rule_version is not None:
            params["rule_version"] = rule_version
        try:
            answer = await self.get(tenant_id, f"/api/v1/units/{unit_id}/honor-rolls/{month}",
                                    params)
        except httpx.HTTPError:
            raise unavailable() from None
        if answer.status_code == 200:
            return msgspec.json.decode(answer.content, type=ComputedRoll)
        if answer.status_code in (400, 404):
            # The reports' own refusal (no such rule set, unit unknown to them yet).
            problem = answer.json()
            raise Refusal(problem.get("code", "refused"), problem.get("detail", ""),
                          problem.get("detail_en") or problem.get("title", ""),
                          field=problem.get("field"), status=answer.status_code)
        raise unavailable()

    async def close(self) -> None:
        for minted in self._minted.values():
            await self._tokens.revoke(minted.principal.token_id)
        self._minted.clear()
        await self._client.aclose()


def unavailable() -> Refusal:
    return Refusal("reports_unavailable", "报表服务暂时不可用，请稍后重试",
                   "the reports service is unavailable; retry later", status=503,
                   headers={"Retry-After": "5"})
