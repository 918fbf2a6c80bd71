"""What the reports answer: msgspec Structs, returned as JSON and rendered into exports.

Every report carries `position`, the feed cursor its read models reflect.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec


class KindTotals(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    kind_name: str
    # Confirmed service time; attendance activities add none.
    minutes: int
    hours: float
    attendance: int
    person_times: int
    # Checked in but not (yet) confirmed: shown apart, never counted as hours.
    unconfirmed: int


class MonthHours(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    kinds: list[KindTotals]
    minutes: int
    hours: float
    person_times: int
    unconfirmed: int


class MemberHours(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    member_number: str | None
    name: str
    position: str
    as_of: date | None
    months: list[MonthHours]
    cumulative_minutes: int
    cumulative_hours: float
    star_level: int
    minutes_to_next_level: int | None
    unconfirmed: int


class Correction(msgspec.Struct, frozen=True, kw_only=True):
    action: str  # corrected | revoked
    minutes: int | None
    previous_minutes: int | None
    reason: str | None
    by: uuid.UUID
    by_name: str | None
    at: datetime


class MemberRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One volunteer-service record, with what the national rules ask a record to hold."""

    participation_id: uuid.UUID
    activity_id: uuid.UUID
    activity: str
    kind: str
    kind_name: str
    category: str
    date: date
    place: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    auto_checkout: bool
    status: str  # confirmed | unconfirmed | revoked
    minutes: int | None
    hours: float | None
    confirmed_by: uuid.UUID | None
    confirmed_by_name: str | None
    confirmed_at: datetime | None
    corrections: list[Correction]


class Page(msgspec.Struct, frozen=True, kw_only=True):
    limit: int
    offset: int
    total: int
    next_offset: int | None


class MemberRecords(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    position: str
    records: list[MemberRecord]
    page: Page


class UnitKindRow(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    kind_name: str
    # Activities hosted by the unit or a unit below it (as the tree was on the day).
    activities: int
    # Participation of the unit's members (members as of the day of each check-in).
    participants: int
    person_times: int
    minutes: int
    hours: float
    attendance: int
    unconfirmed: int


class UnitActivity(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    unit_name: str
    unit_kind: str
    month: str
    position: str
    as_of: date | None
    kinds: list[UnitKindRow]
    activities: int
    participants: int
    person_times: int
    minutes: int
    hours: float
    # In-service members reported to the unit or below on the month's last day (or as_of).
    members_reported: int


class CommunitySummary(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    unit_name: str
    month: str
    position: str
    text: str
    members_reported: int
    activities: int
    person_times: int
    # Distinct members who served, and their confirmed time.
    participants: int
    minutes: int
    hours: float


class HonorRollRow(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    member_id: uuid.UUID
    member_number: str | None
    name: str
    minutes: int
    hours: float
    activities: int


class HonorRollView(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    unit_name: str
    month: str
    status: str  # draft | published
    rule_set: str
    rule_version: int
    # The rule set as a page names it ("标准规则 第1版").
    rule_set_label: str
    position: str
    computed_at_position: str
    published_at: datetime | None
    publicity_ends: date | None
    in_publicity: bool
    objections: int
    entries: list[HonorRollRow]


class PublicHonorRollRow(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    name: str
    hours: float
    activities: int


class PublicHonorRoll(msgspec.Struct, frozen=True, kw_only=True):
    unit_name: str
    month: str
    published_at: datetime
    publicity_ends: date
    in_publicity: bool
    entries: list[PublicHonorRollRow]


class DigestRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    member_number: str | None
    name: str
    status: str  # reported | not_reported | left
    status_name: str
    unit_id: uuid.UUID | None
    unit_name: str | None
    reported_since: date | None
    activities: int
    minutes: int
    hours: float
    unconfirmed: int


class EmployerDigest(msgspec.Struct, frozen=True, kw_only=True):
    employer: str
    quarter: str
    position: str
    members: list[DigestRow]
    page: Page


class EmployerCount(msgspec.Struct, frozen=True, kw_only=True):
    employer: str
    # In-service members of the employer the digest lists (in the caller's scope).
    members: int


class EmployerList(msgspec.Struct, frozen=True, kw_only=True):
    quarter: str
    employers: list[EmployerCount]
