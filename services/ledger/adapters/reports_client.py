"""The organiser pages ask the reports service for honor rolls and community summaries.

The reports API takes bearer tokens; an organiser on the pages has a session instead. For
each visit the ledger mints a token scoped exactly as the organiser (their unit's subtree,
their id, write) and revokes it straight after. The reports service then checks the scope,
and the ledger records the organiser as the publisher, as for the organiser's own token.
(The reports service may honour a revoked token for the few seconds it caches tokens.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from ledger.adapters.tokens import TokenStore


def reports_url() -> str:
    """Where the ledger reaches the reports service (server to server)."""
    return os.environ.get("REPORTS_URL", "http://127.0.0.1:8001").rstrip("/")


class ReportsClient:
    def __init__(self, tokens: TokenStore, base_url: str | None = None) -> None:
        self._tokens = tokens
        self._base_url = base_url or reports_url()

    @asynccontextmanager
    async def acting_for(self, tenant_id: str, organiser_id: uuid.UUID,
                         unit_id: uuid.UUID) -> AsyncIterator[httpx.AsyncClient]:
        minted = await self._tokens.mint(tenant_id, label=f"pages:{organiser_id}",
                                         role="organiser", can_write=True,
                                         scope_unit_id=unit_id, organiser_id=organiser_id)
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=15,
                headers={"Authorization": f"Bearer {minted.token}"},
            ) as client:
                yield client
        finally:
            await self._tokens.revoke(minted.principal.token_id)
