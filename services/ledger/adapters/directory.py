"""Personal data, kept out of the immutable events: the member directory and organisers.

Erasing a person clears their directory row; the events, keyed by member id, and every
total computed from them stay intact.
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


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
                hash_secret(pin) if pin else None,
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
        """The member id when number and PIN match; the same work either way when not."""
        row = await self._pool.fetchrow(
            """SELECT member_id, pin_hash FROM ledger.member_directory
               WHERE tenant_id = $1 AND member_number = $2 AND erased_at IS NULL""",
            tenant_id, member_number,
        )
        if verify_secret(row["pin_hash"] if row else None, pin) and row is not None:
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
            hash_secret(password) if password else None,
        )
        return OrganiserAccount(tenant_id=tenant_id, organiser_id=organiser_id, unit_id=unit_id,
                                name=name, login=login)

    async def authenticate(self, tenant_id: str, login: str,
                           password: str) -> OrganiserAccount | None:
        row = await self._pool.fetchrow(
            """SELECT tenant_id, organiser_id, unit_id, name, login, password_hash
               FROM ledger.organisers WHERE tenant_id = $1 AND login = $2""",
            tenant_id, login,
        )
        if not verify_secret(row["password_hash"] if row else None, password) or row is None:
            return None
        return OrganiserAccount(**{k: row[k] for k in OrganiserAccount.__struct_fields__})

    async def get(self, tenant_id: str, organiser_id: uuid.UUID) -> OrganiserAccount | None:
        row = await self._pool.fetchrow(
            """SELECT tenant_id, organiser_id, unit_id, name, login FROM ledger.organisers
               WHERE tenant_id = $1 AND organiser_id = $2""",
            tenant_id, organiser_id,
        )
        return OrganiserAccount(**dict(row)) if row else None
