"""Bearer tokens for API clients and organisers. Only a hash of each secret is stored.

A token reads `lt_<token_id>_<secret>`. The id finds the row; the secret's SHA-256 is
compared in constant time. Secrets are 32 random bytes, so a fast hash is enough (unlike
passwords, which get argon2). Both services verify tokens through this module.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Literal

import asyncpg
import msgspec

Role = Literal["client", "organiser"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: a client system or an organiser, limited to a subtree of units."""

    tenant_id: str
    token_id: str
    label: str
    role: Role
    organiser_id: uuid.UUID | None
    # None: the whole tenant (district); otherwise this unit and every unit below it.
    scope_unit_id: uuid.UUID | None
    can_write: bool

    @property
    def actor(self) -> str:
        if self.organiser_id is not None:
            return f"organiser:{self.organiser_id}"
        return f"client:{self.label}"


class MintedToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    principal: Principal


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _split(raw: str) -> tuple[str, str] | None:
    prefix, _, rest = raw.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != "lt" or not token_id or not secret:
        return None
    return token_id, secret


class TokenStore:
    # Verified tokens are remembered briefly so the check-in path does not query every time;
    # a revocation therefore takes effect within this many seconds.
    CACHE_SECONDS = 10.0

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # token id -> (when verified, secret hash, principal)
        self._cache: dict[str, tuple[float, bytes, Principal]] = {}

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
            tenant_id, token_id, _hash(secret), label, role, organiser_id, scope_unit_id,
            can_write,
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
        self._cache.pop(token_id, None)
        return result.endswith("1")

    async def verify(self, raw: str) -> Principal | None:
        """The principal for a presented token, or None if unknown, revoked or malformed."""
        parts = _split(raw)
        if parts is None:
            return None
        token_id, secret = parts
        cached = self._cache.get(token_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.CACHE_SECONDS:
            _, digest, principal = cached
            return principal if hmac.compare_digest(digest, _hash(secret)) else None
        row = await self._pool.fetchrow(
            """SELECT tenant_id, token_id, secret_hash, label, role, organiser_id,
                      scope_unit_id, can_write
               FROM ledger.api_tokens WHERE token_id = $1 AND revoked_at IS NULL""",
            token_id,
        )
        if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), _hash(secret)):
            return None
        principal = Principal(
            tenant_id=row["tenant_id"], token_id=row["token_id"], label=row["label"],
            role=row["role"], organiser_id=row["organiser_id"],
            scope_unit_id=row["scope_unit_id"], can_write=row["can_write"],
        )
        self._cache[token_id] = (now, bytes(row["secret_hash"]), principal)
        return principal
