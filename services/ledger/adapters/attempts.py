"""Limits on guessing: member PINs, organiser passwords and check-in codes.

Kept in PostgreSQL (`ledger.login_attempts`), so every ledger process shares them. Each
attempt is answered by three counters:

- the **pair** (what is tried, from which address): the first `free` failures go
  unhindered, then each one makes the next attempt wait, twice as long each time up to
  `max_delay`. A success clears it. Nothing can lock a member out: what others do from
  other addresses never delays this pair.
- the **subject** (the member number, login or activity, from every address): a coarse
  ceiling. Past `ceiling` failures in a window, every pair waits at least `ceiling_delay`
  after each attempt, without free ones; a pair that has not tried is still let in at
  once, so the real member gets in within that delay whatever an attacker does.
- the **address** (every subject of the tenant): at most `address_failures` failures
  and, where each attempt costs an argon2 hash, `address_attempts` attempts of any outcome
  per window.

Counters are per tenant; an unknown tenant is answered at once as a wrong attempt, without
a check or a row (tenants are no secret, they are in every QR code's address), so made-up
tenants buy no tries.

An attempt is counted *before* it is verified, as a failure, in one transaction that locks
its three rows (`Attempts.begin`); a success then gives the failure back
(`Attempt.succeeded`). Concurrent attempts therefore queue on the rows and each sees the
ones before it: forty at once on one number verify no more PINs than one after another.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import msgspec

Kind = Literal["pin", "password", "code"]
SCOPES = ("address", "pair", "subject")


@dataclass(frozen=True)
class Policy:
    free: int
    first_delay: timedelta
    max_delay: timedelta
    # A pair's failures are forgotten this long after its last attempt.
    forget: timedelta
    ceiling: int
    ceiling_delay: timedelta
    address_failures: int
    address_attempts: int | None
    # The subject's and the address's counting window.
    window: timedelta

    def delay(self, failures: int) -> timedelta:
        """How long a pair waits after its `failures`-th counted attempt."""
        if failures < self.free:
            return timedelta(0)
        # Capped before the power grows large: the exponent is bounded, not the input.
        doublings = min(failures - self.free, 32)
        return min(self.first_delay * 2 ** doublings, self.max_delay)


# PINs and passwords: five tries, then 30 s, 1, 2, 4, 8 min and 15 min from then on. A
# whole activity's phones may share one address (the community's Wi-Fi, a carrier's
# NAT), hence the address's generous 100 identifies per quarter hour.
_SECRETS = Policy(free=5, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15),
                  forget=timedelta(hours=24), ceiling=20, ceiling_delay=timedelta(minutes=1),
                  address_failures=30, address_attempts=100, window=timedelta(minutes=15))
POLICIES: dict[Kind, Policy] = {
    "pin": _SECRETS,
    "password": _SECRETS,
    # Six-digit codes, two valid at a time, typed from a screen by many people at one
    # address: more free tries and short delays, and a high ceiling per activity. A code
    # costs no argon2, so successes are not limited.
    "code": Policy(free=10, first_delay=timedelta(seconds=5), max_delay=timedelta(minutes=1),
                   forget=timedelta(hours=1), ceiling=300,
                   ceiling_delay=timedelta(seconds=10), address_failures=30,
                   address_attempts=None, window=timedelta(minutes=15)),
}
# Longer than any row's effect lasts (the longest `forget`), so pruning changes nothing.
IDLE = timedelta(days=2)
# Roughly one attempt in this many also deletes idle rows (a few at a time).
PRUNE_EVERY = 200


@dataclass
class Counter:
    failures: int
    attempts: int
    window_start: datetime
    last_at: datetime
    next_at: datetime


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Seconds until an attempt may be verified again (0 when allowed).
    retry_after: int
    # The counters to store when allowed, by scope.
    counters: dict[str, Counter]


def decide(policy: Policy, now: datetime, counters: dict[str, Counter]) -> Decision:
    """Whether an attempt may be verified now, given the stored counters by scope (what
    `Attempts.begin` read, rows just created included), and the counters after counting
    it as a failure. Pure: no clock, no database."""
    pair, subject, address = counters["pair"], counters["subject"], counters["address"]
    if now - pair.last_at >= policy.forget:
        pair = Counter(0, 0, pair.window_start, pair.last_at, min(pair.next_at, now))
    if now - subject.window_start >= policy.window:
        subject = Counter(0, 0, now, subject.last_at, subject.next_at)
    if now - address.window_start >= policy.window:
        address = Counter(0, 0, now, address.last_at, address.next_at)
    waits = [pair.next_at - now]
    if address.failures >= policy.address_failures or (
            policy.address_attempts is not None
            and address.attempts >= policy.address_attempts):
        waits.append(address.window_start + policy.window - now)
    wait = max(waits)
    if wait > timedelta(0):
        return Decision(False, math.ceil(wait.total_seconds()), {})
    delay = policy.delay(pair.failures + 1)
    if subject.failures >= policy.ceiling:
        delay = max(delay, policy.ceiling_delay)
    return Decision(True, 0, {
        "pair": Counter(pair.failures + 1, pair.attempts + 1, pair.window_start, now,
                        now + delay),
        "subject": Counter(subject.failures + 1, subject.attempts + 1, subject.window_start,
                           now, subject.next_at),
        "address": Counter(address.failures + 1, address.attempts + 1, address.window_start,
                           now, address.next_at),
    })


def address_key(address: str) -> str:
    """IPv6 clients by their /64 (one subscriber's usual allocation), so that a client
    cannot make itself billions of addresses; IPv4 and anything else as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


@dataclass(frozen=True)
class Attempt:
    """One attempt, counted as a failure. Verify only when `allowed`; then report a
    success with `succeeded()`, or `abandoned()` if the check could not run at all."""

    allowed: bool
    retry_after: int
    _pool: asyncpg.Pool
    _keys: list[bytes]
    # Not allowed, and nothing to wait for: there is nobody to check against.
    no_such_tenant: bool = False

    async def succeeded(self, now: datetime) -> None:
        if not self.allowed:
            return
        # The failure counted in advance is given back; the pair starts afresh.
        await self._pool.execute(
            """UPDATE ledger.login_attempts SET
                   failures = CASE WHEN scope = 'pair' THEN 0
                                   ELSE greatest(failures - 1, 0) END,
                   next_at = CASE WHEN scope = 'pair' THEN least(next_at, $2) ELSE next_at END
               WHERE key = ANY($1::bytea[])""",
            self._keys, now)

    async def abandoned(self) -> None:
        """Nothing was verified: the attempt is not counted at all. The pair's delay stays
        (another attempt may have set it meanwhile), which errs on the safe side."""
        if not self.allowed:
            return
        await self._pool.execute(
            """UPDATE ledger.login_attempts SET failures = greatest(failures - 1, 0),
                   attempts = greatest(attempts - 1, 0)
               WHERE key = ANY($1::bytea[])""",
            self._keys)


class _Refused(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class Attempts:
    def __init__(self, pool: asyncpg.Pool, secret: bytes) -> None:
        self._pool = pool
        self._secret = hashlib.sha256(b"attempts\0" + secret).digest()

    def key(self, kind: Kind, scope: str, tenant_id: str, subject: str, address: str) -> bytes:
        """A counter's row key: keyed, so the table names no member number or address."""
        parts = {"pair": [tenant_id, subject, address_key(address)],
                 "subject": [tenant_id, subject],
                 "address": [tenant_id, address_key(address)]}[scope]
        return hmac.new(self._secret, msgspec.json.encode([kind, scope, *parts]),
                        hashlib.sha256).digest()[:16]

    async def begin(self, kind: Kind, tenant_id: str, subject: str, address: str,
                    now: datetime) -> Attempt:
        policy = POLICIES[kind]
        keys = [self.key(kind, scope, tenant_id, subject, address) for scope in SCOPES]
        # A NUL cannot be in any tenant id (PostgreSQL text cannot hold it).
        if "\0" in tenant_id or not await self._pool.fetchval(
                "SELECT EXISTS (SELECT FROM ledger.tenants WHERE tenant_id = $1)", tenant_id):
            return Attempt(False, 0, self._pool, keys, no_such_tenant=True)
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                # Creates the missing rows and locks all three (the no-op update takes
                # the lock and returns the latest committed values). Every attempt locks
                # address, pair, subject in that order, so two attempts never deadlock.
                rows = await connection.fetch(
                    """INSERT INTO ledger.login_attempts AS a
                           (key, kind, scope, window_start, last_at, next_at)
                       VALUES ($1, $4, 'address', $5, $5, $5), ($2, $4, 'pair', $5, $5, $5),
                              ($3, $4, 'subject', $5, $5, $5)
                       ON CONFLICT (key) DO UPDATE SET last_at = a.last_at
                       RETURNING scope, failures, attempts, window_start, last_at, next_at""",
                    *keys, kind, now)
                decision = decide(policy, now, {
                    row["scope"]: Counter(row["failures"], row["attempts"],
                                          row["window_start"], row["last_at"], row["next_at"])
                    for row in rows})
                if not decision.allowed:
                    # Rolled back: a refusal stores nothing, not even a new row.
                    raise _Refused(decision.retry_after)
                stored = [decision.counters[scope] for scope in SCOPES]
                await connection.execute(
                    """UPDATE ledger.login_attempts AS a SET failures = v.failures,
                           attempts = v.attempts, window_start = v.window_start,
                           last_at = v.last_at, next_at = v.next_at
                       FROM unnest($1::bytea[], $2::int[], $3::int[], $4::timestamptz[],
                                   $5::timestamptz[], $6::timestamptz[])
                           AS v(key, failures, attempts, window_start, last_at, next_at)
                       WHERE a.key = v.key""",
                    keys, [c.failures for c in stored], [c.attempts for c in stored],
                    [c.window_start for c in stored], [c.last_at for c in stored],
                    [c.next_at for c in stored])
        except _Refused as refused:
            return Attempt(False, refused.retry_after, self._pool, keys)
        if random.randrange(PRUNE_EVERY) == 0:
            await self.prune(now)
        return Attempt(True, 0, self._pool, keys)

    async def prune(self, now: datetime, batch: int = 1000) -> int:
        """Delete up to `batch` rows idle for longer than any of them has an effect."""
        result = await self._pool.execute(
            """DELETE FROM ledger.login_attempts WHERE key IN (
                   SELECT key FROM ledger.login_attempts WHERE last_at < $1 LIMIT $2)""",
            now - IDLE, batch)
        return int(result.split()[-1])
