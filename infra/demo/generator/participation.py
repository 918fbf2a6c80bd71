"""One activity's history: scheduled, check-ins and check-outs, close, confirmations, fixes.

The events follow the ledger's rules (see ledger.domain.activities): check-ins fall inside
the window (or its 30-minute grace), credited minutes are the time present within the
window and never above the cap, attendance activities credit 0, forgotten check-outs are
closed at the scheduled end by closing the activity and flagged, and every confirmation,
correction and revocation names an organiser of the host unit.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from contract.calendar import whole_minutes
from contract.events import (
    ActivityCancelled,
    ActivityClosed,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    CorrectionRequested,
    Event,
    ParticipationCorrected,
    ParticipationRevoked,
)
from infra.demo.generator.names import BENEFICIARIES
from infra.demo.generator.plan import Member, new_id

GRACE = timedelta(minutes=30)
FORGOTTEN_CHECK_OUT = 0.05
LEAVES_EARLY = 0.08
SHARED_DEVICE = 0.005
TRAVEL_CORRECTION = 0.015


@dataclass(frozen=True)
class Slot:
    """An activity as scheduled, before anyone takes part."""

    activity_id: uuid.UUID
    kind: str
    category: str
    host_unit_id: uuid.UUID
    community_id: uuid.UUID
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    hours_cap_minutes: int | None
    capacity: int | None
    # People taking part who are not revoked (the person-times the activity reports), or,
    # when 0, `share` of the community's members at the time.
    participants: int = 0
    share: float = 0.0
    # Long holiday patrols are served in three-hour shifts.
    shifts: bool = False
    # Borrowed check-ins, revoked later; off where a figure must come out exact.
    revocations: bool = True
    cancelled: bool = False
    # Moved by an hour before anyone checked in: (original start, original end).
    moved_from: tuple[datetime, datetime] | None = None


def credit(slot: Slot, checked_in_at: datetime, checked_out_at: datetime) -> int:
    """What the rules allow: time present within the window, capped; 0 for attendance."""
    if slot.category == "attendance":
        return 0
    minutes = whole_minutes(min(checked_out_at, slot.ends_at) - max(checked_in_at,
                                                                     slot.starts_at))
    if slot.hours_cap_minutes is not None:
        minutes = min(minutes, slot.hours_cap_minutes)
    return minutes


def _seconds(rng: random.Random, low_minutes: float, high_minutes: float,
             mode_minutes: float) -> timedelta:
    return timedelta(seconds=int(rng.triangular(low_minutes, high_minutes, mode_minutes) * 60))


@dataclass
class _Presence:
    member: Member
    participation_id: uuid.UUID
    checked_in_at: datetime
    checked_out_at: datetime | None  # None: forgot to check out
    shift_end: datetime
    method: str
    device: str | None
    borrowed: bool


def _presence(rng: random.Random, slot: Slot, member: Member, shift: int) -> _Presence:
    start = slot.starts_at + timedelta(hours=3 * shift)
    end = min(start + timedelta(hours=3), slot.ends_at) if slot.shifts else slot.ends_at
    checked_in_at = start + (_seconds(rng, -25, 35, -5) if shift == 0
                             else _seconds(rng, -10, 20, 0))
    checked_in_at = min(max(checked_in_at, slot.starts_at - GRACE + timedelta(minutes=1)),
                        slot.ends_at - timedelta(minutes=10))
    roll = rng.random()
    if roll < FORGOTTEN_CHECK_OUT:
        checked_out_at = None
    elif roll < FORGOTTEN_CHECK_OUT + LEAVES_EARLY:
        checked_out_at = checked_in_at + (end - checked_in_at) * rng.uniform(0.3, 0.8)
    else:
        checked_out_at = end + _seconds(rng, -15, 20, 2)
    if checked_out_at is not None:
        checked_out_at = max(checked_out_at.replace(microsecond=0),
                             checked_in_at + timedelta(minutes=1))
    method = rng.choices(("qr", "form", "organiser"), (80, 15, 5))[0]
    return _Presence(member, new_id(rng), checked_in_at, checked_out_at, end, method,
                     member.device if method != "organiser" else None, False)


def busy_until(slot: Slot, presence: _Presence) -> datetime:
    """When the member is free again (a forgotten check-out runs to the scheduled end)."""
    return presence.checked_out_at or slot.ends_at


def presences(rng: random.Random, slot: Slot, members: list[Member]) -> list[_Presence]:
    shifts = 4 if slot.shifts else 1
    people = [_presence(rng, slot, member, i % shifts) for i, member in enumerate(members)]
    # In check-in order, so a shared device is flagged on the later check-in, as the ledger does.
    people.sort(key=lambda person: person.checked_in_at)
    if slot.revocations:
        for i, person in enumerate(people[1:], 1):
            if person.method != "organiser" and rng.random() < SHARED_DEVICE:
                # One phone checking in someone else: flagged, and revoked on review.
                person.device = people[rng.randrange(i)].device or person.device
                person.borrowed = True
    return people


def activity_events(rng: random.Random, slot: Slot, people: list[_Presence],
                    organiser_id: uuid.UUID) -> list[Event]:
    scheduled_start, scheduled_end = slot.moved_from or (slot.starts_at, slot.ends_at)
    events: list[Event] = [ActivityScheduled(
        activity_id=slot.activity_id, kind=slot.kind, category=slot.category,
        host_unit_id=slot.host_unit_id, title=slot.title, place=slot.place,
        starts_at=scheduled_start, ends_at=scheduled_end, capacity=slot.capacity,
        hours_cap_minutes=slot.hours_cap_minutes, organiser_ids=[organiser_id],
        beneficiary=BENEFICIARIES[slot.kind],
    )]
    if slot.moved_from is not None:
        events.append(ActivityRescheduled(
            activity_id=slot.activity_id, starts_at=slot.starts_at, ends_at=slot.ends_at,
            place=slot.place, reason="与社区其他工作时间冲突，调整活动时间"))
    if slot.cancelled:
        events.append(ActivityCancelled(activity_id=slot.activity_id,
                                        reason="因天气原因取消，另行通知"))
        return events
    events.extend(_attendance(rng, slot, people))
    closed_at = slot.ends_at + _seconds(rng, 20, 240, 60)
    for person in people:
        if person.checked_out_at is None:
            events.append(CheckedOut(
                activity_id=slot.activity_id, member_id=person.member.member_id,
                participation_id=person.participation_id,
                at=max(min(closed_at, slot.ends_at), person.checked_in_at),
                method="organiser", auto=True, flags=["auto_closed"]))
    events.append(ActivityClosed(activity_id=slot.activity_id, closed_at=closed_at))
    events.extend(_review(rng, slot, people, organiser_id, closed_at))
    return events


def _attendance(rng: random.Random, slot: Slot, people: list[_Presence]) -> list[Event]:
    """Check-ins and check-outs in the order they happened."""
    timed: list[tuple[datetime, int, Event]] = []
    devices_seen: set[str] = set()
    for order, person in enumerate(people):
        skew = timedelta(seconds=rng.randint(-90, 90))
        in_flags = ["early"] if person.checked_in_at < slot.starts_at else []
        if person.device is not None:
            if person.device in devices_seen:
                in_flags.append("shared_device")
            devices_seen.add(person.device)
        manual = person.method == "organiser"
        timed.append((person.checked_in_at, order, CheckedIn(
            activity_id=slot.activity_id, member_id=person.member.member_id,
            participation_id=person.participation_id, at=person.checked_in_at,
            method=person.method,
            client_time=None if manual else person.checked_in_at + skew,
            device=person.device, flags=in_flags)))
        if person.checked_out_at is not None:
            timed.append((person.checked_out_at, order, CheckedOut(
                activity_id=slot.activity_id, member_id=person.member.member_id,
                participation_id=person.participation_id, at=person.checked_out_at,
                method=person.method,
                client_time=None if manual else person.checked_out_at + skew,
                flags=["late"] if person.checked_out_at > slot.ends_at else [])))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in timed]


def _review(rng: random.Random, slot: Slot, people: list[_Presence], organiser_id: uuid.UUID,
            closed_at: datetime) -> list[Event]:
    """The organiser confirms each record, revokes borrowed check-ins, corrects some."""
    events: list[Event] = []
    later: list[Event] = []
    at = closed_at + _seconds(rng, 5, 2 * 24 * 60, 60)
    for person in people:
        at += timedelta(seconds=rng.randint(5, 40))
        base = dict(activity_id=slot.activity_id, member_id=person.member.member_id,
                    participation_id=person.participation_id)
        if person.borrowed:
            events.append(ParticipationRevoked(
                **base, reason="同一手机代他人签到，经核实本人未到场", revoked_by=organiser_id,
                revoked_at=at))
            continue
        checked_out_at = person.checked_out_at or slot.ends_at
        minutes = credit(slot, person.checked_in_at, checked_out_at)
        events.append(AttendanceConfirmed(**base, minutes=minutes, confirmed_by=organiser_id,
                                          confirmed_at=at))
        if slot.category == "attendance":
            continue
        if person.checked_out_at is None and rng.random() < 0.5:
            # The member says when they really left; the organiser checks and amends.
            left = person.checked_in_at + (person.shift_end - person.checked_in_at) * rng.uniform(
                0.5, 0.95)
            left = max(left.replace(microsecond=0), person.checked_in_at + timedelta(minutes=1))
            asked = at + _seconds(rng, 60, 3 * 24 * 60, 24 * 60)
            fixed = credit(slot, person.checked_in_at, left)
            later.append(CorrectionRequested(
                **base, reason=f"忘记签退，实际于{left:%H:%M}离开", requested_minutes=fixed,
                requested_at=asked))
            later.append(ParticipationCorrected(
                **base, minutes=fixed, previous_minutes=minutes, checked_out_at=left,
                reason="忘记签退，经核实按实际离开时间更正", corrected_by=organiser_id,
                corrected_at=asked + _seconds(rng, 30, 2 * 24 * 60, 12 * 60)))
        elif minutes >= 40 and rng.random() < TRAVEL_CORRECTION:
            later.append(ParticipationCorrected(
                **base, minutes=minutes - rng.randint(10, 30), previous_minutes=minutes,
                reason="扣除往返路程时间，按实际服务时间认定", corrected_by=organiser_id,
                corrected_at=at + _seconds(rng, 60, 7 * 24 * 60, 24 * 60)))
    later.sort(key=_when)
    return events + later


def _when(event: Event) -> datetime:
    if isinstance(event, CorrectionRequested):
        return event.requested_at
    assert isinstance(event, ParticipationCorrected)
    return event.corrected_at
