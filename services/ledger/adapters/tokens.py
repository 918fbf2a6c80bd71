"""Minting and revoking bearer tokens for API clients, organisers and auditors (the ledger
owns `ledger.api_tokens`); verification is shared with the reports (`contract.tokens`)."""

from __future__ import annotations

import secrets
import uuid

import msgspec

from contract.access import Principal, Role
from contract.tokens import TokenVerifier, secret_hash


class MintedToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    principal: Principal


class TokenStore(TokenVerifier):
    async def mint(
        self,
        tenant_id: str,
        *,
        label: str,
        role: Role,
        can_write: bool,
        scope_unit_id: uuid.UUID | None = None,
        organiser_id: uuid.UUID | None = None,
    ) -> MintedToken:
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        await self._pool.execute(
            """INSERT INTO ledger.api_tokens (tenant_id, token_id, secret_hash, label, role,
                   organiser_id, scope_unit_id, can_write)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            tenant_id, token_id, secret_hash(secret), label, role, organiser_id,
            scope_unit_id, can_write,
        )
        principal = Principal(tenant_id=tenant_id, token_id=token_id, label=label, role=role,
                              organiser_id=organiser_id, scope_unit_id=scope_unit_id,
                              can_write=can_write)
        return MintedToken(token=f"lt_{token_id}_{secret}", principal=principal)

    async def revoke(self, token_id: str) -> bool:
        result = await self._pool.execute(
            "UPDATE ledger.api_tokens SET revoked_at = now() "
            "WHERE token_id = $1 AND revoked_at IS NULL",
            token_id,
        )
        self.forget(token_id)
        return result.endswith("1")
