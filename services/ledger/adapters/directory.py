"""Personal data, kept out of the immutable events: the member directory and organisers.

Erasing a person clears their directory row; the events, keyed by member id, and every
total computed from them stay intact.

PINs and passwords are argon2 hashes. argon2 costs about 0.3 s of CPU on purpose, so the
services never run it on the event loop: `ARGON2` runs it in a few threads of its own
(argon2-cffi releases the GIL), not in the default executor that other work shares.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_T = TypeVar("_T")


class DirectoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    member_number: str | None
    name: str | None
    phone: str | None
    erased: bool


class MemberNumberTaken(Exception):
    pass


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(hashed: str | None, secret: str) -> bool:
    if not hashed:
        # Spend the same time as a real check so a missing entry cannot be told apart.
        _hasher.hash(secret)
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


class Argon2Busy(Exception):
    """Too many verifications already waiting: the caller should try again shortly."""


class Argon2Threads:
    """argon2 off the event loop, in `threads` threads. Verifications (what anonymous
    callers can cause) are refused with `Argon2Busy` once `max_pending` are waiting or
    running, rather than queueing work for clients that will have given up by the time it
    runs; hashing (registrations, new organisers) always waits its turn."""

    def __init__(self, threads: int, max_pending: int) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="argon2")
        self._max_pending = max_pending
        # Counted until the thread is done, not until the awaiting request gives up: a
        # cancelled request's hash still occupies a thread.
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    def _finished(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    async def _run(self, refuse_when_busy: bool, work: Callable[..., _T],
                   *args: str | None) -> _T:
        with self._lock:
            if refuse_when_busy and self._pending >= self._max_pending:
                raise Argon2Busy
            self._pending += 1
        future = self._executor.submit(work, *args)
        future.add_done_callback(self._finished)
        return await asyncio.wrap_future(future)

    async def hash(self, secret: str) -> str:
        return await self._run(False, hash_secret, secret)

    async def verify(self, hashed: str | None, secret: str) -> bool:
        return await self._run(True, verify_secret, hashed, secret)


# One per process: the bound is on this machine's CPU. The event loop's thread stays one
# of a few runnable threads, so it keeps its share of the CPU under a flood of sign-ins.
ARGON2 = Argon2Threads(threads=min(4, os.cpu_count() or 1), max_pending=64)


class MemberDirectory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def put(self, tenant_id: str, member_id: uuid.UUID, *, member_number: str, name: str,
                  phone: str | None, pin: str | None) -> None:
        """Insert or replace a member's entry (a retried registration lands here twice)."""
        try:
            await self._pool.execute(
                """INSERT INTO ledger.member_directory
                       (tenant_id, member_id, member_number, name, phone, pin_hash)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (tenant_id, member_id) DO UPDATE SET
                       member_number = EXCLUDED.member_number, name = EXCLUDED.name,
                       phone = EXCLUDED.phone,
                       pin_hash = coalesce(EXCLUDED.pin_hash, member_directory.pin_hash)""",
                tenant_id, member_id, member_number, name, phone,
                await ARGON2.hash(pin) if pin else None,
            )
        except asyncpg.UniqueViolationError as error:
            raise MemberNumberTaken(member_number) from error

    async def get(self, tenant_id: str, member_id: uuid.UUID) -> DirectoryEntry | None:
        row = await self._pool.fetchrow(
            """SELECT member_id, member_number, name, phone, erased_at IS NOT NULL AS erased
               FROM ledger.member_directory WHERE tenant_id = $1 AND member_id = $2""",
            tenant_id, member_id,
        )
        return DirectoryEntry(**dict(row)) if row else None

    async def member_by_number(self, tenant_id: str, member_number: str) -> uuid.UUID | None:
        return await self._pool.fetchval(
            """SELECT member_id FROM ledger.member_directory
               WHERE tenant_id = $1 AND member_number = $2 AND erased_at IS NULL""",
            tenant_id, member_number,
        )

    async def verify_pin(self, tenant_id: str, member_number: str, pin: str) -> uuid.UUID | None:
        """The member id when number and PIN match; the same work either way when not.
        Raises `Argon2Busy` when too many verifications are waiting."""
        row = await self._pool.fetchrow(
            """SELECT member_id, pin_hash FROM ledger.member_directory
               WHERE tenant_id = $1 AND member_number = $2 AND erased_at IS NULL""",
            tenant_id, member_number,
        )
        if await ARGON2.verify(row["pin_hash"] if row else None, pin) and row is not None:
            return row["member_id"]
        return None

    async def erase(self, tenant_id: str, member_id: uuid.UUID) -> bool:
        result = await self._pool.execute(
            """UPDATE ledger.member_directory
               SET member_number = NULL, name = NULL, phone = NULL, id_number = NULL,
                   pin_hash = NULL, erased_at = now()
               WHERE tenant_id = $1 AND member_id = $2 AND erased_at IS NULL""",
            tenant_id, member_id,
        )
        return result.endswith("1")


class OrganiserAccount(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    organiser_id: uuid.UUID
    unit_id: uuid.UUID
    name: str
    login: str


class Organisers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, tenant_id: str, *, unit_id: uuid.UUID, name: str, login: str,
                  password: str | None, organiser_id: uuid.UUID | None = None
                  ) -> OrganiserAccount:
        organiser_id = organiser_id or uuid.uuid4()
        await self._pool.execute(
            """INSERT INTO ledger.organisers
                   (tenant_id, organiser_id, unit_id, name, login, password_hash)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            tenant_id, organiser_id, unit_id, name, login,
            await ARGON2.hash(password) if password else None,
        )
        return OrganiserAccount(tenant_id=tenant_id, organiser_id=organiser_id, unit_id=unit_id,
                                name=name, login=login)

    async def authenticate(self, tenant_id: str, login: str,
                           password: str) -> OrganiserAccount | None:
        """The account when login and password match. Raises `Argon2Busy` when too many
        verifications are waiting."""
        row = await self._pool.fetchrow(
            """SELECT tenant_id, organiser_id, unit_id, name, login, password_hash
               FROM ledger.organisers WHERE tenant_id = $1 AND login = $2""",
            tenant_id, login,
        )
        if not await ARGON2.verify(row["password_hash"] if row else None, password) \
                or row is None:
            return None
        return OrganiserAccount(**{k: row[k] for k in OrganiserAccount.__struct_fields__})

    async def known(self, tenant_id: str,
                    organiser_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self._pool.fetch(
            """SELECT organiser_id FROM ledger.organisers
               WHERE tenant_id = $1 AND organiser_id = ANY($2::uuid[])""",
            tenant_id, list(organiser_ids),
        )
        return {row["organiser_id"] for row in rows}

    async def get(self, tenant_id: str, organiser_id: uuid.UUID) -> OrganiserAccount | None:
        row = await self._pool.fetchrow(
            """SELECT tenant_id, organiser_id, unit_id, name, login FROM ledger.organisers
               WHERE tenant_id = $1 AND organiser_id = $2""",
            tenant_id, organiser_id,
        )
        return OrganiserAccount(**dict(row)) if row else None
