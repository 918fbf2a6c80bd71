"""Bearer tokens, verified the same way by both services.

A token reads `lt_<token_id>_<secret>`. The id finds the row; the secret's SHA-256 is
compared in constant time. Secrets are 32 random bytes, so a fast hash is enough (unlike
passwords, which get argon2). The ledger mints and revokes them (`ledger.adapters.tokens`);
both services read them only through the function `ledger.token_principal`, which the
ledger's migrations own.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import asyncpg

from contract.access import Principal


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_token(raw: str) -> tuple[str, str] | None:
    if len(raw) > 200 or not raw.isascii():
        return None
    prefix, _, rest = raw.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != "lt" or not token_id or not secret:
        return None
    return token_id, secret


_PRINCIPAL = """SELECT tenant_id, token_id, secret_hash, label, role, organiser_id,
                       scope_unit_id, can_write
                FROM ledger.token_principal($1)"""


class TokenVerifier:
    # Verified tokens are remembered briefly so the check-in path does not query every time;
    # a revocation therefore takes effect within this many seconds.
    CACHE_SECONDS = 10.0

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # token id -> (when verified, secret hash, principal)
        self._cache: dict[str, tuple[float, bytes, Principal]] = {}

    def forget(self, token_id: str) -> None:
        self._cache.pop(token_id, None)

    async def verify(self, raw: str) -> Principal | None:
        """The principal for a presented token, or None if unknown, revoked or malformed."""
        parts = split_token(raw)
        if parts is None:
            return None
        token_id, secret = parts
        cached = self._cache.get(token_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.CACHE_SECONDS:
            _, digest, principal = cached
            return principal if hmac.compare_digest(digest, secret_hash(secret)) else None
        row = await self._pool.fetchrow(_PRINCIPAL, token_id)
        if row is None or not hmac.compare_digest(bytes(row["secret_hash"]),
                                                  secret_hash(secret)):
            return None
        principal = Principal(
            tenant_id=row["tenant_id"], token_id=row["token_id"], label=row["label"],
            role=row["role"], organiser_id=row["organiser_id"],
            scope_unit_id=row["scope_unit_id"], can_write=row["can_write"],
        )
        self._cache[token_id] = (now, bytes(row["secret_hash"]), principal)
        return principal
