"""Token verification over the ledger's API (`GET /api/v1/tokens/current` with the
presented token), for a ledger in another database: the `contract.tokens.Verifier` port's
other adapter, remembering a verified token as long as the SQL one does.

The ledger answers `whoAmI` afresh (not from its own cache), so a revoked token stops
working here within `CACHE_SECONDS`. This deployment reads one tenant's feed, so a token of
another tenant is refused like an unknown one.
"""

from __future__ import annotations

import msgspec

from contract.access import Principal
from contract.tokens import CachingVerifier
from reports.adapters.ledger_api import LedgerApi, unexpected

_PRINCIPAL = msgspec.json.Decoder(Principal)


class HttpTokenVerifier(CachingVerifier):
    def __init__(self, ledger: LedgerApi, tenant_id: str) -> None:
        super().__init__()
        self._ledger = ledger
        self._tenant_id = tenant_id

    async def _look_up(self, raw: str, token_id: str, digest: bytes) -> Principal | None:
        response = await self._ledger.request("GET", "/api/v1/tokens/current", raw)
        if response.status_code in (401, 403):
            return None
        if response.status_code != 200:
            raise unexpected(response)
        try:
            principal = _PRINCIPAL.decode(response.content)
        except msgspec.DecodeError:
            raise unexpected(response) from None
        if principal.tenant_id != self._tenant_id or principal.token_id != token_id:
            return None
        return principal
