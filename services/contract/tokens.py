"""Bearer tokens, verified the same way by both services.

A token reads `lt_<token_id>_<secret>`. The id finds the row; the secret's SHA-256 is
compared in constant time. Secrets are 32 random bytes, so a fast hash is enough (unlike
passwords, which get argon2). The ledger mints and revokes them (`ledger.adapters.tokens`).

Verification is a port (`Verifier`, what the guard calls) with two adapters: `TokenVerifier`
reads the function `ledger.token_principal`, which the ledger's migrations own (the ledger
itself, and the reports in the ledger's database); the reports' `HttpTokenVerifier` asks
the ledger's API (`GET /api/v1/tokens/current`) for a ledger in another database. Both
remember a verified token for `CACHE_SECONDS` (`CachingVerifier`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Protocol

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


class Verifier(Protocol):
    async def verify(self, raw: str) -> Principal | None:
        """The principal for a presented token, or None if unknown, revoked or malformed.
        Raises a 503 `Refusal` when it cannot tell just now (the ledger is unreachable)."""
        ...


class CachingVerifier:
    """What both adapters share: malformed tokens refused without a look-up, and verified
    ones remembered briefly so the check-in path does not look up every time; a revocation
    therefore takes effect within CACHE_SECONDS. Only verified tokens are remembered, with
    their secret's hash, so a cached id with another secret is still refused."""

    CACHE_SECONDS = 10.0

    def __init__(self) -> None:
        # token id -> (when verified, secret hash, principal)
        self._cache: dict[str, tuple[float, bytes, Principal]] = {}

    def forget(self, token_id: str) -> None:
        self._cache.pop(token_id, None)

    async def verify(self, raw: str, *, max_age: float | None = None) -> Principal | None:
        """The principal for a presented token, or None if unknown, revoked or malformed.
        `max_age`: how old a remembered verification may be (default CACHE_SECONDS; 0: look
        it up now)."""
        parts = split_token(raw)
        if parts is None:
            return None
        token_id, secret = parts
        digest = secret_hash(secret)
        cached = self._cache.get(token_id)
        now = time.monotonic()
        window = self.CACHE_SECONDS if max_age is None else max_age
        if cached is not None and now - cached[0] < window:
            _, known, principal = cached
            return principal if hmac.compare_digest(known, digest) else None
        principal = await self._look_up(raw, token_id, digest)
        if principal is None:
            return None
        self._cache[token_id] = (now, digest, principal)
        return principal

    async def _look_up(self, raw: str, token_id: str, digest: bytes) -> Principal | None:
        """The principal of a well-formed token whose secret hashes to `digest`, or None."""
        raise NotImplementedError


_PRINCIPAL = """SELECT tenant_id, token_id, secret_hash, label, role, organiser_id,
                       scope_unit_id, can_write
                FROM ledger.token_principal($1)"""


class TokenVerifier(CachingVerifier):
    """The SQL adapter: `ledger.token_principal` in the ledger's database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__()
        self._pool = pool

    async def _look_up(self, raw: str, token_id: str, digest: bytes) -> Principal | None:
        row = await self._pool.fetchrow(_PRINCIPAL, token_id)
        if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), digest):
            return None
        return Principal(
            tenant_id=row["tenant_id"], token_id=row["token_id"], label=row["label"],
            role=row["role"], organiser_id=row["organiser_id"],
            scope_unit_id=row["scope_unit_id"], can_write=row["can_write"],
        )
