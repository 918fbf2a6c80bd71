"""Paged reads of the list read models (`ledger.adapters.catalogue` keeps them).

Pages are keyset-paginated: the cursor holds the sort key of the last row shown, so a
page costs the same however deep it is, and rows added meanwhile cause neither duplicates
nor gaps. Cursors are opaque to clients (base64 of the key) and checked on the way in.
Scope is a list of unit ids (the caller's subtree, see `OrgTree.subtree`), or None for the
whole tenant.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import asyncpg
import msgspec

from contract.calendar import MONTH
from ledger.domain.certificates import well_formed

K = TypeVar("K")


class InvalidCursor(ValueError):
    pass


def encode_cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).rstrip(b"=").decode()


def decode_cursor(text: str, key_type: type[K]) -> K:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return msgspec.json.decode(raw, type=key_type)
    except (binascii.Error, ValueError, msgspec.ValidationError):
        raise InvalidCursor(text) from None


ActivityKey = tuple[datetime, uuid.UUID]
MemberKey = tuple[date, uuid.UUID]
RequestKey = tuple[datetime, uuid.UUID]
RollKey = tuple[str, uuid.UUID]
CertificateKey = tuple[datetime, str]


class ActivitySummary(msgspec.Struct, frozen=True, kw_only=True):
    activity_id: uuid.UUID
    host_unit_id: uuid.UUID
    kind: str
    category: str
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    status: str
    # Members who checked in (a revoked record still counts: they were there).
    participants: int


class MemberSummary(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    kind: str
    unit_id: uuid.UUID | None
    registered_on: date
    left_on: date | None
    active: bool
    # From the directory; None once erased.
    member_number: str | None
    name: str | None
    erased: bool


class CorrectionRequestSummary(msgspec.Struct, frozen=True, kw_only=True):
    # The id of the CorrectionRequested event.
    request_id: uuid.UUID
    activity_id: uuid.UUID
    # The activity's host unit, whose organisers answer.
    host_unit_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    # The member's own words.
    reason: str
    # What the member says should be credited; None when they did not say.
    requested_minutes: int | None
    requested_at: datetime
    # open | answered: after the request, the organiser accepted it as asked, amended it,
    # refused it, or corrected, revoked or confirmed the record on their own.
    status: str
    answered_at: datetime | None
    # accepted | amended | refused | corrected | revoked | confirmed; None while open.
    answer: str | None


class HonorRollSummary(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    month: str
    rule_set: str
    rule_version: int
    published_at: datetime
    # The last day of the publicity (公示) window, Asia/Shanghai.
    publicity_ends: date
    entry_count: int
    objection_count: int


class CertificateSummary(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    member_id: uuid.UUID
    issuer_unit_id: uuid.UUID
    first_month: str
    last_month: str
    minutes: int
    activities: int
    issued_by: uuid.UUID
    issued_at: datetime


class CertificateRequestSummary(msgspec.Struct, frozen=True, kw_only=True):
    request_id: uuid.UUID
    member_id: uuid.UUID
    first_month: str
    last_month: str
    requested_at: datetime
    status: str  # open | issued | refused
    # The certificate issued (status issued), or why not (status refused).
    number: str | None
    reason: str | None
    answered_at: datetime | None


class CertificateFilter(msgspec.Struct, frozen=True, kw_only=True):
    # None: the whole tenant. A certificate is listed for its issuing unit's subtree.
    units: Sequence[uuid.UUID] | None = None
    member_id: uuid.UUID | None = None


class ActivityFilter(msgspec.Struct, frozen=True, kw_only=True):
    units: Sequence[uuid.UUID] | None = None
    status: str | None = None
    kind: str | None = None
    # Start within [starts_from, starts_before).
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    # Part of the title, any case.
    title: str | None = None


class MemberFilter(msgspec.Struct, frozen=True, kw_only=True):
    units: Sequence[uuid.UUID] | None = None
    member_number: str | None = None
    # Part of the name, any case.
    name: str | None = None


class CorrectionRequestFilter(msgspec.Struct, frozen=True, kw_only=True):
    # Of the activity's host unit.
    units: Sequence[uuid.UUID] | None = None
    status: str | None = None
    activity_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None


class HonorRollFilter(msgspec.Struct, frozen=True, kw_only=True):
    units: Sequence[uuid.UUID] | None = None
    # "YYYY-MM", both inclusive.
    first_month: str | None = None
    last_month: str | None = None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Where:
    """SQL conditions with their numbered arguments."""

    def __init__(self, tenant_id: str) -> None:
        self.args: list[Any] = [tenant_id]
        self.conditions: list[str] = []

    def add(self, condition: str, *values: Any) -> None:
        numbers = []
        for value in values:
            self.args.append(value)
            numbers.append(f"${len(self.args)}")
        self.conditions.append(condition.format(*numbers))

    def sql(self) -> str:
        return " AND ".join(["c.tenant_id = $1", *self.conditions])


_ACTIVITIES = """SELECT c.activity_id, c.host_unit_id, c.kind, c.category, c.title, c.place,
    c.starts_at, c.ends_at, c.capacity, c.status,
    (SELECT count(*) FROM ledger.activity_participants p
     WHERE p.tenant_id = c.tenant_id AND p.activity_id = c.activity_id) AS participants
FROM ledger.activity_catalogue c WHERE {where}
ORDER BY c.starts_at DESC, c.activity_id DESC LIMIT {limit}"""

_MEMBERS = """SELECT c.member_id, c.kind, c.unit_id, c.registered_on, c.left_on,
    d.member_number, d.name, d.erased_at IS NOT NULL AS erased
FROM ledger.member_catalogue c
LEFT JOIN ledger.member_directory d ON d.tenant_id = c.tenant_id AND d.member_id = c.member_id
WHERE {where}
ORDER BY c.registered_on, c.member_id LIMIT {limit}"""


_REQUESTS = """SELECT c.request_id, c.activity_id, c.host_unit_id, c.member_id,
    c.participation_id, c.reason, c.requested_minutes, c.requested_at, c.status, c.answered_at,
    c.answer
FROM ledger.correction_requests c WHERE {where}
ORDER BY c.requested_at DESC, c.request_id DESC LIMIT {limit}"""

_ROLLS = """SELECT c.unit_id, c.month, c.rule_set, c.rule_version, c.published_at,
    c.publicity_ends, c.entry_count, c.objection_count
FROM ledger.honor_roll_catalogue c WHERE {where}
ORDER BY c.month DESC, c.unit_id DESC LIMIT {limit}"""

_CERTIFICATES = """SELECT c.number, c.member_id, c.issuer_unit_id, c.first_month, c.last_month,
    c.minutes, c.activities, c.issued_by, c.issued_at
FROM ledger.certificate_catalogue c WHERE {where}
ORDER BY c.issued_at DESC, c.number DESC LIMIT {limit}"""

_CERTIFICATE_REQUESTS = """SELECT c.request_id, c.member_id, c.first_month, c.last_month,
    c.requested_at, c.status, c.number, c.reason, c.answered_at
FROM ledger.certificate_requests c WHERE {where}
ORDER BY {order}, c.request_id LIMIT {limit}"""


class Listings:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def activities(self, tenant_id: str, where: ActivityFilter, after: str | None,
                         limit: int) -> tuple[list[ActivitySummary], str | None]:
        """Newest start first; the cursor of the next page (None on the last)."""
        conditions = _Where(tenant_id)
        if where.units is not None:
            conditions.add("c.host_unit_id = ANY({}::uuid[])", list(where.units))
        if where.status is not None:
            conditions.add("c.status = {}", where.status)
        if where.kind is not None:
            conditions.add("c.kind = {}", where.kind)
        if where.starts_from is not None:
            conditions.add("c.starts_at >= {}", where.starts_from)
        if where.starts_before is not None:
            conditions.add("c.starts_at < {}", where.starts_before)
        if where.title:
            conditions.add("lower(c.title) LIKE {}", _like(where.title))
        if after is not None:
            conditions.add("(c.starts_at, c.activity_id) < ({}, {})",
                           *decode_cursor(after, ActivityKey))
        rows = await self._pool.fetch(
            _ACTIVITIES.format(where=conditions.sql(), limit=limit + 1), *conditions.args)
        items = [ActivitySummary(**dict(row)) for row in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor((items[-1].starts_at, items[-1].activity_id)) if more \
            else None

    async def members(self, tenant_id: str, where: MemberFilter, after: str | None,
                      limit: int) -> tuple[list[MemberSummary], str | None]:
        """Oldest registration first; the cursor of the next page (None on the last)."""
        conditions = _Where(tenant_id)
        if where.units is not None:
            conditions.add("c.unit_id = ANY({}::uuid[])", list(where.units))
        if where.member_number is not None:
            conditions.add("d.member_number = {}", where.member_number)
        if where.name:
            conditions.add("lower(d.name) LIKE {}", _like(where.name))
        if after is not None:
            conditions.add("(c.registered_on, c.member_id) > ({}, {})",
                           *decode_cursor(after, MemberKey))
        rows = await self._pool.fetch(
            _MEMBERS.format(where=conditions.sql(), limit=limit + 1), *conditions.args)
        items = [MemberSummary(**dict(row), active=row["left_on"] is None)
                 for row in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor((items[-1].registered_on, items[-1].member_id)) if more \
            else None

    async def correction_requests(self, tenant_id: str, where: CorrectionRequestFilter,
                                  after: str | None, limit: int
                                  ) -> tuple[list[CorrectionRequestSummary], str | None]:
        """Newest request first; the cursor of the next page (None on the last)."""
        conditions = _Where(tenant_id)
        if where.units is not None:
            conditions.add("c.host_unit_id = ANY({}::uuid[])", list(where.units))
        if where.status is not None:
            conditions.add("c.status = {}", where.status)
        if where.activity_id is not None:
            conditions.add("c.activity_id = {}", where.activity_id)
        if where.member_id is not None:
            conditions.add("c.member_id = {}", where.member_id)
        if after is not None:
            conditions.add("(c.requested_at, c.request_id) < ({}, {})",
                           *decode_cursor(after, RequestKey))
        rows = await self._pool.fetch(
            _REQUESTS.format(where=conditions.sql(), limit=limit + 1), *conditions.args)
        items = [CorrectionRequestSummary(**dict(row)) for row in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor((items[-1].requested_at, items[-1].request_id)) if more \
            else None

    async def honor_rolls(self, tenant_id: str, where: HonorRollFilter, after: str | None,
                          limit: int) -> tuple[list[HonorRollSummary], str | None]:
        """Newest month first; the cursor of the next page (None on the last)."""
        conditions = _Where(tenant_id)
        if where.units is not None:
            conditions.add("c.unit_id = ANY({}::uuid[])", list(where.units))
        if where.first_month is not None:
            conditions.add("c.month >= {}", where.first_month)
        if where.last_month is not None:
            conditions.add("c.month <= {}", where.last_month)
        if after is not None:
            month, unit_id = decode_cursor(after, RollKey)
            # Any text would do for the comparison, but not every text is valid in SQL.
            if not MONTH.match(month):
                raise InvalidCursor(after)
            conditions.add("(c.month, c.unit_id) < ({}, {})", month, unit_id)
        rows = await self._pool.fetch(
            _ROLLS.format(where=conditions.sql(), limit=limit + 1), *conditions.args)
        items = [HonorRollSummary(**dict(row)) for row in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor((items[-1].month, items[-1].unit_id)) if more else None

    async def certificates(self, tenant_id: str, where: CertificateFilter, after: str | None,
                           limit: int) -> tuple[list[CertificateSummary], str | None]:
        """Newest first; the cursor of the next page (None on the last)."""
        conditions = _Where(tenant_id)
        if where.units is not None:
            conditions.add("c.issuer_unit_id = ANY({}::uuid[])", list(where.units))
        if where.member_id is not None:
            conditions.add("c.member_id = {}", where.member_id)
        if after is not None:
            issued_at, number = decode_cursor(after, CertificateKey)
            if not well_formed(number) or issued_at.tzinfo is None:
                raise InvalidCursor(after)
            conditions.add("(c.issued_at, c.number) < ({}, {})", issued_at, number)
        rows = await self._pool.fetch(
            _CERTIFICATES.format(where=conditions.sql(), limit=limit + 1), *conditions.args)
        items = [CertificateSummary(**dict(row)) for row in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor((items[-1].issued_at, items[-1].number)) if more else None

    async def certificate_requests(self, tenant_id: str, *,
                                   units: Sequence[uuid.UUID] | None = None,
                                   member_id: uuid.UUID | None = None,
                                   limit: int = 100) -> list[CertificateRequestSummary]:
        """`units`: the open requests of members reporting there, oldest first (the order
        they are answered in); `member_id`: that member's requests, newest first."""
        conditions = _Where(tenant_id)
        order = "c.requested_at DESC"
        if units is not None:
            # Members of the subtree as they report now: whoever may certify them.
            conditions.add("c.status = 'open'")
            conditions.add("""EXISTS (SELECT 1 FROM ledger.member_catalogue m
                WHERE m.tenant_id = c.tenant_id AND m.member_id = c.member_id
                  AND m.unit_id = ANY({}::uuid[]))""", list(units))
            order = "c.requested_at"
        if member_id is not None:
            conditions.add("c.member_id = {}", member_id)
        rows = await self._pool.fetch(
            _CERTIFICATE_REQUESTS.format(where=conditions.sql(), order=order, limit=int(limit)),
            *conditions.args)
        return [CertificateRequestSummary(**dict(row)) for row in rows]

    async def member_activity_ids(self, tenant_id: str, member_id: uuid.UUID
                                  ) -> list[uuid.UUID]:
        """Every activity the member checked in to."""
        rows = await self._pool.fetch(
            """SELECT activity_id FROM ledger.activity_participants
               WHERE tenant_id = $1 AND member_id = $2""", tenant_id, member_id)
        return [row["activity_id"] for row in rows]
