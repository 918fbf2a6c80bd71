"""The ledger's events: its published contract, imported by the reports service.

Every event is a frozen, keyword-only msgspec Struct on one base class, tagged by its type
name, which is what the events table stores in `type`. Stored events live forever, so:

* an event never carries personal data in the clear (names, phones and ID numbers live in
  the member directory, keyed by member id);
* the decoder is tolerant: unknown fields are ignored, and an older `schema_version` is
  upcast (see `UPCASTERS`) before decoding;
* durations are whole minutes and instants are timezone-aware, so that the canonical JSON
  hashed into the tamper-evident chain is stable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

import msgspec

UnitKind = Literal["district", "street", "community", "branch", "group", "team"]
MemberKind = Literal["in_service", "retired", "registered", "volunteer"]
ActivityKind = Literal["patrol", "cleanup", "lecture", "meeting", "forum", "service", "other"]
# Service activities earn volunteer hours; attendance ones (meetings, forums, classes) are
# counted only.
ActivityCategory = Literal["service", "attendance"]
CheckInMethod = Literal["qr", "form", "organiser", "import"]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every ledger event. `schema_version` of the current shape is `VERSION`."""

    VERSION = 1


# --- organisation tree (stream "organisation"; one per tenant) --------------------------


class UnitEstablished(Event, frozen=True, kw_only=True, tag=True):
    unit_id: uuid.UUID
    kind: UnitKind
    parent_id: uuid.UUID | None
    name: str
    effective: date


class UnitRenamed(Event, frozen=True, kw_only=True, tag=True):
    unit_id: uuid.UUID
    name: str
    effective: date


class UnitMoved(Event, frozen=True, kw_only=True, tag=True):
    unit_id: uuid.UUID
    parent_id: uuid.UUID
    effective: date


class UnitMerged(Event, frozen=True, kw_only=True, tag=True):
    """`unit_id` ends; its members count for `into_unit_id` from `effective` on."""

    unit_id: uuid.UUID
    into_unit_id: uuid.UUID
    effective: date


class UnitDissolved(Event, frozen=True, kw_only=True, tag=True):
    unit_id: uuid.UUID
    effective: date


# --- members (stream "member-<id>") ------------------------------------------------------


class MemberRegistered(Event, frozen=True, kw_only=True, tag=True):
    """Name, phone, ID number and PIN live in the member directory, never here."""

    member_id: uuid.UUID
    kind: MemberKind
    # The employer unit (an organisation outside the tree) of an in-service member.
    employer: str | None = None
    registered_on: date


class MemberReported(Event, frozen=True, kw_only=True, tag=True):
    """The member reported (报到) to a community, branch or group."""

    member_id: uuid.UUID
    unit_id: uuid.UUID
    effective: date


class MemberTransferred(Event, frozen=True, kw_only=True, tag=True):
    member_id: uuid.UUID
    from_unit_id: uuid.UUID
    to_unit_id: uuid.UUID
    effective: date


class MemberLeft(Event, frozen=True, kw_only=True, tag=True):
    member_id: uuid.UUID
    effective: date
    reason: str


class MemberDataErased(Event, frozen=True, kw_only=True, tag=True):
    """The directory entry was erased on request; the member's records stay, unnamed."""

    member_id: uuid.UUID
    erased_at: datetime


# --- activities and participation (stream "activity-<id>") -------------------------------


class ActivityScheduled(Event, frozen=True, kw_only=True, tag=True):
    """v2 added `beneficiary`: whom or what the activity serves (服务对象/内容), which the
    national record rules require a record to hold; "" when not recorded (all of v1)."""

    VERSION = 2

    activity_id: uuid.UUID
    kind: ActivityKind
    category: ActivityCategory
    host_unit_id: uuid.UUID
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None
    hours_cap_minutes: int | None = None
    organiser_ids: list[uuid.UUID] = []
    beneficiary: str = ""


class ActivityRescheduled(Event, frozen=True, kw_only=True, tag=True):
    activity_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    place: str
    reason: str


class ActivityDetailsRevised(Event, frozen=True, kw_only=True, tag=True):
    """The activity's title and capacity from now on (both stated, changed or not), and why.

    Records already confirmed keep pointing at the activity, so lists, rosters and
    certificates issued later show the new title; certificates issued earlier keep the
    content they were issued with. `capacity` None: no limit."""

    activity_id: uuid.UUID
    title: str
    capacity: int | None
    reason: str


class ActivityCancelled(Event, frozen=True, kw_only=True, tag=True):
    activity_id: uuid.UUID
    reason: str


class ActivityClosed(Event, frozen=True, kw_only=True, tag=True):
    activity_id: uuid.UUID
    closed_at: datetime


class CheckedIn(Event, frozen=True, kw_only=True, tag=True):
    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    at: datetime
    method: CheckInMethod
    # What the phone's clock said; kept for review, never trusted for hours.
    client_time: datetime | None = None
    # A hash of the device that sent it, to spot one phone checking in many members.
    device: str | None = None
    # Reasons a person should look at this record: "early" (in the grace period before the
    # start), "shared_device" (this phone checked in another member here), "poster_only"
    # (the phone scanned the printed poster, not the live screen's rotating code).
    flags: list[str] = []


class CheckedOut(Event, frozen=True, kw_only=True, tag=True):
    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    at: datetime
    method: CheckInMethod
    client_time: datetime | None = None
    # True when closing the activity checked out a forgotten check-in (flagged for review).
    auto: bool = False
    flags: list[str] = []


class AttendanceConfirmed(Event, frozen=True, kw_only=True, tag=True):
    """An organiser of the host unit confirms; `minutes` is 0 for attendance activities."""

    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    minutes: int
    confirmed_by: uuid.UUID
    confirmed_at: datetime


class ParticipationCorrected(Event, frozen=True, kw_only=True, tag=True):
    """A new entry amending credited minutes (and, if given, the times present).

    `beyond_presence`: the minutes exceed the time the record shows present within the
    window (a member who checked out too early or checked in late), which the reason must
    explain; reviewers see it flagged. `answer`: the correction answers the member's open
    request, as asked ("accepted") or with other minutes ("amended"); None when the
    organiser corrected on their own. Both are False/None in events written before they
    existed, which is what those were.
    """

    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    minutes: int
    previous_minutes: int
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    reason: str
    corrected_by: uuid.UUID
    corrected_at: datetime
    beyond_presence: bool = False
    answer: Literal["accepted", "amended"] | None = None


class ParticipationRevoked(Event, frozen=True, kw_only=True, tag=True):
    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    reason: str
    revoked_by: uuid.UUID
    revoked_at: datetime


class CorrectionRequested(Event, frozen=True, kw_only=True, tag=True):
    """The member asks for a correction; an organiser answers with a correction or not."""

    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    reason: str
    requested_minutes: int | None = None
    requested_at: datetime


class CorrectionRequestRefused(Event, frozen=True, kw_only=True, tag=True):
    """An organiser answers the member's open requests on a record with no change, and why
    (nothing is deleted: the request stays, answered by this)."""

    activity_id: uuid.UUID
    member_id: uuid.UUID
    participation_id: uuid.UUID
    reason: str
    refused_by: uuid.UUID
    refused_at: datetime


# --- honor roll (stream "honor-roll-<unit>-<YYYY-MM>") -----------------------------------


class HonorRollEntry(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    member_id: uuid.UUID
    minutes: int
    activities: int


class HonorRollPublished(Event, frozen=True, kw_only=True, tag=True):
    """Freezes a month's roll: later corrections count in a later period."""

    unit_id: uuid.UUID
    month: str  # "YYYY-MM", Asia/Shanghai
    rule_set: str
    rule_version: int
    # The feed position (cursor) the roll was computed at.
    computed_at_position: str
    entries: list[HonorRollEntry]
    published_by: uuid.UUID
    published_at: datetime
    publicity_ends: date


class HonorRollObjectionRecorded(Event, frozen=True, kw_only=True, tag=True):
    unit_id: uuid.UUID
    month: str
    member_id: uuid.UUID | None = None
    objection: str
    recorded_by: uuid.UUID
    recorded_at: datetime


# --- certificates (stream "certificate-<number>"; one per certificate) -------------------


class CertificateMonth(msgspec.Struct, frozen=True, kw_only=True):
    """One month (Asia/Shanghai) of the service a certificate attests."""

    month: str  # "YYYY-MM"
    minutes: int
    activities: int
    # What the member did that month: the activities' titles, most hours first.
    content: str


class CertificateIssued(Event, frozen=True, kw_only=True, tag=True):
    """A volunteer-service certificate (志愿服务证明), with the figures as of issue, so a
    printed one can be checked against it later. Names and member numbers are printed
    from the member directory, never stored here.

    v2 added `request_id`: the member's request it answers (`CertificateRequested`), None
    when the organiser issued without one (all of v1)."""

    VERSION = 2

    number: str
    member_id: uuid.UUID
    first_month: str
    last_month: str
    minutes: int
    activities: int
    months: list[CertificateMonth]
    issuer_unit_id: uuid.UUID
    # The organiser who handled it (经办人).
    issued_by: uuid.UUID
    issued_at: datetime
    contact: str = ""
    request_id: uuid.UUID | None = None


class CertificateRequested(Event, frozen=True, kw_only=True, tag=True):
    """The member asks for a certificate of their confirmed service in a period (申请), in
    their own stream (member-<id>). The organising unit answers it once, in the stream of
    the certificate it would issue (its number derived from `request_id`): by issuing
    (`CertificateIssued` naming the request) or by refusing (`CertificateRequestRefused`)."""

    request_id: uuid.UUID
    member_id: uuid.UUID
    first_month: str  # "YYYY-MM", Asia/Shanghai, both inclusive
    last_month: str
    requested_at: datetime


class CertificateRequestRefused(Event, frozen=True, kw_only=True, tag=True):
    """The organiser answers a certificate request without issuing, and why (no confirmed
    service in the period, the member served elsewhere, …)."""

    request_id: uuid.UUID
    member_id: uuid.UUID
    reason: str
    refused_by: uuid.UUID
    refused_at: datetime


EVENT_TYPES: tuple[type[Event], ...] = (
    UnitEstablished, UnitRenamed, UnitMoved, UnitMerged, UnitDissolved,
    MemberRegistered, MemberReported, MemberTransferred, MemberLeft, MemberDataErased,
    ActivityScheduled, ActivityRescheduled, ActivityDetailsRevised, ActivityCancelled,
    ActivityClosed,
    CheckedIn, CheckedOut, AttendanceConfirmed, ParticipationCorrected, ParticipationRevoked,
    CorrectionRequested, CorrectionRequestRefused, HonorRollPublished,
    HonorRollObjectionRecorded, CertificateIssued, CertificateRequested,
    CertificateRequestRefused,
)
BY_NAME: dict[str, type[Event]] = {t.__name__: t for t in EVENT_TYPES}

# (type name, stored schema version) -> function turning that version's data into the next.
# An upcaster only ever reads data: what is stored (and hashed) stays as it was written.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _scheduled_v1(data: dict[str, Any]) -> dict[str, Any]:
    # Nobody was asked for the beneficiary before v2; "" says "not recorded" rather than
    # guessing one from the title.
    return {**data, "beneficiary": ""}


def _certificate_v1(data: dict[str, Any]) -> dict[str, Any]:
    # Before v2 no member could ask on the pages: every certificate was issued unasked.
    return {**data, "request_id": None}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("ActivityScheduled", 1): _scheduled_v1,
    ("CertificateIssued", 1): _certificate_v1,
}


def event_type(event: Event) -> str:
    return type(event).__name__


class UnknownEventType(Exception):
    pass


_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in BY_NAME.items()
}
_ENCODER = msgspec.json.Encoder(order="sorted")


def encode_data(event: Event) -> bytes:
    """The event's data as canonical JSON (sorted keys, no tag): what is stored and hashed."""
    raw = msgspec.to_builtins(event)
    raw.pop("type", None)
    return _ENCODER.encode(raw)


def canonical_json(value: Any) -> bytes:
    return _ENCODER.encode(value)


def current_decoders() -> dict[str, tuple[int, Callable[[bytes], Event]]]:
    """Type -> (its current schema version, the decode of data stored at that version).

    For readers that decode millions of events (a rebuild): they call these directly and
    take `decode_data` only for an older version, an unknown type or an error.
    """
    return {name: (BY_NAME[name].VERSION, decoder.decode) for name, decoder in _DECODERS.items()}


def decode_data(type_name: str, schema_version: int, data: bytes) -> Event:
    """Decode stored data, upcasting older schema versions first.

    Raises UnknownEventType for a type this code does not know (a newer writer); the
    caller decides whether to skip it.
    """
    decoder = _DECODERS.get(type_name)
    if decoder is None:
        raise UnknownEventType(type_name)
    cls = BY_NAME[type_name]
    if schema_version < cls.VERSION:
        return msgspec.convert(upcast(type_name, schema_version, msgspec.json.decode(data)), cls)
    return decoder.decode(data)


def upcast(type_name: str, schema_version: int, raw: dict[str, Any]) -> dict[str, Any]:
    """Stored data of an older schema version in the current version's shape.

    Raises KeyError when an upcaster is missing (a bug: every version bump adds one).
    """
    version = schema_version
    while version < BY_NAME[type_name].VERSION:
        raw = UPCASTERS[(type_name, version)](raw)
        version += 1
    return raw
