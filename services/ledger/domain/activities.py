"""Activities and the participation in them: schedule, check in and out, confirm, correct.

The rules of the national volunteer-record regulations live here:
* hours are time actually present **within the scheduled window**, capped per activity;
* attendance activities (meetings, forums, classes) are counted but credit no service hours;
* only an organiser of the host unit, or of a unit above it, confirms or corrects, and every
  correction is a new entry with a reason;
* a correction may credit more than the record shows present (a member who checked out too
  early or checked in late), flagged `beyond_presence`, but never more than a member present
  for the whole scheduled window would earn: the window's length, capped per activity (0 for
  attendance). No margin beyond it: time outside the window is credited to nobody, so a
  correction cannot credit it either (an activity that really ran longer is rescheduled);
  a window is at most 24 hours, so no credit exceeds a day;
* a member's open correction requests on a record are answered together by the next
  correction (as asked, amended, or the organiser's own), revocation, confirmation or
  refusal of that record;
* closing an activity checks out forgotten check-ins at the scheduled end, flagged for review.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from contract.bounds import clean, integer, line, text
from contract.calendar import whole_minutes
from contract.events import (
    ActivityCancelled,
    ActivityCategory,
    ActivityClosed,
    ActivityDetailsRevised,
    ActivityKind,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    CheckInMethod,
    CorrectionRequested,
    CorrectionRequestRefused,
    Event,
    ParticipationCorrected,
    ParticipationRevoked,
)
from contract.problems import Refusal, forbidden, invalid, not_found
from ledger.domain.command import Command
from ledger.domain.members import MemberState, active
from ledger.domain.organisation import OrgTree

MAX_DURATION = timedelta(hours=24)
# No stay is longer than an activity, so no credited or requested minutes exceed this.
MAX_CAP_MINUTES = 24 * 60
MAX_TITLE = MAX_PLACE = MAX_BENEFICIARY = 200
MAX_REASON = 500
MAX_CAPACITY = 100_000
# The scheduling organiser plus co-organisers; a list, not a roster.
MAX_ORGANISERS = 20
# A device fingerprint (the pages send a hash).
MAX_DEVICE = 128
Minutes = integer(0, MAX_CAP_MINUTES)
Reason = text(MAX_REASON)
# Meetings (三会一课), forums (座谈会, 议事会) and classes are attended, not served: they never
# earn volunteer hours, so they cannot be scheduled as service. Other kinds may be either.
ATTENDANCE_KINDS = frozenset({"meeting", "forum", "lecture"})


STREAM_PREFIX = "activity-"


def stream_id(activity_id: uuid.UUID) -> str:
    return f"{STREAM_PREFIX}{activity_id}"


def hours(minutes: int) -> str:
    """Minutes as hours with at most two decimals (90 -> "1.5"): what people type and read."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class OpenRequest:
    """A member's correction request not answered yet."""

    reason: str
    requested_minutes: int | None
    requested_at: datetime


@dataclass(frozen=True)
class Step:
    """One entry of a record's correction history, as its events tell it.

    `kind`: asked (the member), accepted / amended / refused (answers to the member's
    request), corrected (the organiser's own), confirmed (a confirmation that answered an
    open request), revoked. `by` is the organiser, None for the member's own request;
    `minutes` what was asked for or credited.
    """

    kind: str
    at: datetime
    reason: str = ""
    minutes: int | None = None
    previous_minutes: int | None = None
    by: uuid.UUID | None = None
    beyond_presence: bool = False


@dataclass
class Participation:
    participation_id: uuid.UUID
    member_id: uuid.UUID
    checked_in_at: datetime
    device: str | None = None
    checked_out_at: datetime | None = None
    auto_closed: bool = False
    minutes: int | None = None  # credited, once confirmed
    revoked: bool = False
    # What the check-in and check-out recorded for a person to look at ("early", "late",
    # "shared_device", "poster_only", "auto_closed"); "beyond_presence" while a correction
    # credits more than the time present.
    flags: set[str] = field(default_factory=set)
    # The member's requests no answer has answered yet, oldest first.
    requests: list[OpenRequest] = field(default_factory=list)
    # Asked, answered, corrected, oldest first: what the member's and the organiser's pages
    # show of how the figure came to be.
    history: list[Step] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.checked_out_at is None and not self.revoked


@dataclass
class ActivityState:
    activity_id: uuid.UUID
    kind: str
    category: str
    host_unit_id: uuid.UUID
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    hours_cap_minutes: int | None
    organiser_ids: list[uuid.UUID]
    beneficiary: str = ""
    status: str = "scheduled"  # scheduled | cancelled | closed
    participations: dict[uuid.UUID, Participation] = field(default_factory=dict)
    # Indexes kept by `apply`, so a check-in into an activity with hundreds of people
    # does not scan them all: each member's participations, and who used which device.
    by_member: dict[uuid.UUID, list[Participation]] = field(default_factory=dict)
    devices: dict[str, set[uuid.UUID]] = field(default_factory=dict)

    @classmethod
    def fold(cls, events: Sequence[Event]) -> ActivityState | None:
        state: ActivityState | None = None
        for event in events:
            state = apply(state, event)
        return state

    def open_participation(self, member_id: uuid.UUID) -> Participation | None:
        for participation in self.by_member.get(member_id, ()):
            if participation.open:
                return participation
        return None

    def participants(self) -> set[uuid.UUID]:
        return {member for member, ps in self.by_member.items()
                if any(not p.revoked for p in ps)}

    def takes_part(self, member_id: uuid.UUID) -> bool:
        return any(not p.revoked for p in self.by_member.get(member_id, ()))

    def most_creditable(self) -> int:
        """The bound of any credit: a member present for the whole window, capped."""
        return self.creditable_minutes(self.starts_at, self.ends_at)

    def creditable_minutes(self, checked_in_at: datetime, checked_out_at: datetime) -> int:
        """Time present within the scheduled window, capped; 0 for attendance activities."""
        if self.category == "attendance":
            return 0
        start = max(checked_in_at, self.starts_at)
        end = min(checked_out_at, self.ends_at)
        minutes = whole_minutes(end - start)
        if self.hours_cap_minutes is not None:
            minutes = min(minutes, self.hours_cap_minutes)
        return minutes


def apply(state: ActivityState | None, event: Event) -> ActivityState | None:
    if isinstance(event, ActivityScheduled):
        return ActivityState(
            event.activity_id, event.kind, event.category, event.host_unit_id, event.title,
            event.place, event.starts_at, event.ends_at, event.capacity,
            event.hours_cap_minutes, list(event.organiser_ids), event.beneficiary,
        )
    if state is None:
        return None
    match event:
        case ActivityRescheduled():
            state.starts_at, state.ends_at = event.starts_at, event.ends_at
            state.place = event.place
        case ActivityDetailsRevised():
            state.title, state.capacity = event.title, event.capacity
        case ActivityCancelled():
            state.status = "cancelled"
        case ActivityClosed():
            state.status = "closed"
        case CheckedIn():
            participation = Participation(
                event.participation_id, event.member_id, event.at, event.device,
                flags=set(event.flags))
            state.participations[event.participation_id] = participation
            state.by_member.setdefault(event.member_id, []).append(participation)
            if event.device:
                state.devices.setdefault(event.device, set()).add(event.member_id)
        case CheckedOut():
            participation = state.participations[event.participation_id]
            participation.checked_out_at, participation.auto_closed = event.at, event.auto
            participation.flags.update(event.flags)
            if event.auto:
                participation.flags.add("auto_closed")
        case AttendanceConfirmed():
            participation = state.participations[event.participation_id]
            participation.minutes = event.minutes
            if participation.requests:
                _answered(participation, Step("confirmed", event.confirmed_at,
                                              minutes=event.minutes, by=event.confirmed_by))
        case ParticipationCorrected():
            participation = state.participations[event.participation_id]
            participation.minutes = event.minutes
            if event.checked_in_at is not None:
                participation.checked_in_at = event.checked_in_at
            if event.checked_out_at is not None:
                participation.checked_out_at = event.checked_out_at
            if event.beyond_presence:
                participation.flags.add("beyond_presence")
            else:
                participation.flags.discard("beyond_presence")
            _answered(participation, Step(
                event.answer or "corrected", event.corrected_at, event.reason, event.minutes,
                event.previous_minutes, event.corrected_by, event.beyond_presence))
        case ParticipationRevoked():
            participation = state.participations[event.participation_id]
            participation.revoked = True
            _answered(participation, Step("revoked", event.revoked_at, event.reason,
                                          by=event.revoked_by))
        case CorrectionRequested():
            participation = state.participations[event.participation_id]
            participation.requests.append(OpenRequest(event.reason, event.requested_minutes,
                                                      event.requested_at))
            participation.history.append(Step("asked", event.requested_at, event.reason,
                                              event.requested_minutes))
        case CorrectionRequestRefused():
            _answered(state.participations[event.participation_id],
                      Step("refused", event.refused_at, event.reason, by=event.refused_by))
    return state


def _answered(participation: Participation, step: Step) -> None:
    participation.history.append(step)
    participation.requests.clear()


@dataclass(frozen=True)
class Busy:
    """A stretch of time the member spent in another activity (for the overlap rule)."""

    activity_id: uuid.UUID
    title: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Organiser:
    """Who acts: an organiser whose authority covers `scope_unit_id` and everything below."""

    organiser_id: uuid.UUID
    scope_unit_id: uuid.UUID | None


# --- commands ----------------------------------------------------------------------------


class ScheduleActivity(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    activity_id: uuid.UUID | None = None
    kind: ActivityKind
    category: ActivityCategory
    host_unit_id: uuid.UUID
    title: line(MAX_TITLE)
    place: line(MAX_PLACE)
    starts_at: datetime
    ends_at: datetime
    capacity: integer(1, MAX_CAPACITY) | None = None
    hours_cap_minutes: Minutes | None = None
    organiser_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_ORGANISERS)] = \
        msgspec.field(default_factory=list)
    # 服务对象/内容: whom or what it serves ("独居老人", "3号楼楼道"); optional.
    beneficiary: line(MAX_BENEFICIARY) = ""


class RescheduleActivity(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    starts_at: datetime
    ends_at: datetime
    place: line(MAX_PLACE) | None = None
    reason: Reason


class ReviseActivityDetails(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new title, a new capacity, or both. `capacity` left out: unchanged; null: no limit."""

    title: line(MAX_TITLE) | msgspec.UnsetType = msgspec.UNSET
    capacity: integer(1, MAX_CAPACITY) | msgspec.UnsetType | None = msgspec.UNSET
    reason: Reason


class CancelActivity(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Reason


class CloseActivity(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class CheckIn(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    member_id: uuid.UUID
    method: CheckInMethod = "qr"
    client_time: datetime | None = None
    device: line(MAX_DEVICE) | None = None
    # Only an organiser recording someone else may give the time; members check in "now".
    at: datetime | None = None
    # The phone showed only the printed poster's QR, not the live screen's rotating code:
    # weaker evidence of presence (a photo of the poster works anywhere while check-in is
    # open), so the record is flagged for the organiser who confirms it.
    poster_only: bool = False


class CheckOut(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    member_id: uuid.UUID
    method: CheckInMethod = "qr"
    client_time: datetime | None = None
    at: datetime | None = None


class ConfirmAttendance(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    # None: credit what the rules allow (time present in the window, capped).
    minutes: Minutes | None = None


class CorrectParticipation(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    minutes: Minutes
    reason: Reason
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None


class RevokeParticipation(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    reason: Reason


class RequestCorrection(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    member_id: uuid.UUID
    reason: Reason
    requested_minutes: Minutes | None = None


class AcceptCorrectionRequest(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Credit exactly the hours the member's newest open request asks for, for its reason."""

    participation_id: uuid.UUID


class AmendCorrectionRequest(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Answer the member's open request with other minutes, and why."""

    participation_id: uuid.UUID
    minutes: Minutes
    reason: Reason


class RefuseCorrectionRequest(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    reason: Reason


# --- decisions ---------------------------------------------------------------------------


# The text checks apply to commands however they came: the API's decoding already refused
# what its types bound, the pages and imports build commands themselves.


def _reason(reason: str) -> str:
    reason = clean(reason, "reason", multiline=True)
    if not reason or len(reason) > MAX_REASON:
        raise invalid("reason_required", f"请填写原因（不超过{MAX_REASON}字）",
                      f"a reason of 1–{MAX_REASON} characters is required", "reason")
    return reason


def _required_line(value: str, name: str, maximum: int, code: str, zh: str) -> str:
    """A one-line text that must not be blank: printed on records, lists and posters."""
    value = clean(value, name)
    if not value or len(value) > maximum:
        raise invalid(code, f"请填写{zh}（不超过{maximum}字）",
                      f"{name}: 1–{maximum} characters", name)
    return value


def _title(title: str) -> str:
    return _required_line(title, "title", MAX_TITLE, "invalid_title", "活动名称")


def _capacity(capacity: int | None) -> int | None:
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise invalid("invalid_capacity", f"人数上限须在1至{MAX_CAPACITY}之间",
                      f"capacity must be 1–{MAX_CAPACITY}", "capacity")
    return capacity


def _place(place: str) -> str:
    return _required_line(place, "place", MAX_PLACE, "invalid_place", "活动地点")


def _beneficiary(beneficiary: str) -> str:
    # Printed on records: one line.
    beneficiary = clean(beneficiary, "beneficiary")
    if len(beneficiary) > MAX_BENEFICIARY:
        raise invalid("invalid_beneficiary", f"服务对象/内容不超过{MAX_BENEFICIARY}字",
                      f"beneficiary: at most {MAX_BENEFICIARY} characters", "beneficiary")
    return beneficiary


def _category(kind: str, category: str) -> None:
    if kind in ATTENDANCE_KINDS and category != "attendance":
        raise invalid("attendance_kind", "会议、座谈会、党课只计出勤，请选择“计出勤”类别",
                      "meetings, forums and lectures are attendance activities", "category")


def _window(starts_at: datetime, ends_at: datetime) -> None:
    for name, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment.tzinfo is None:
            raise invalid("timezone_required", "时间须带时区（如 +08:00）",
                          "times need a timezone offset (e.g. +08:00)", name)
    if ends_at <= starts_at:
        raise invalid("invalid_window", "结束时间须晚于开始时间", "ends_at must be after starts_at",
                      "ends_at")
    if ends_at - starts_at > MAX_DURATION:
        raise invalid("window_too_long", "单次活动不超过24小时",
                      "an activity lasts at most 24 hours", "ends_at")


def _aware(moment: datetime | None, name: str) -> None:
    if moment is not None and moment.tzinfo is None:
        raise invalid("timezone_required", "时间须带时区（如 +08:00）",
                      "times need a timezone offset (e.g. +08:00)", name)


def _recorded_time(moment: datetime, now: datetime, name: str) -> datetime:
    """A time an organiser records for someone: aware, and not in the future (hours are
    time actually present, and nobody has been present in the future yet)."""
    _aware(moment, name)
    if moment > now:
        raise invalid("in_future", "时间不能晚于当前时间", "the time cannot be in the future",
                      name)
    return moment


def _check_recorder(tree: OrgTree | None, activity: ActivityState,
                    recorded_by: Organiser | None, method: str) -> None:
    """Whoever records for someone else must be an organiser of the host unit (or above)."""
    if recorded_by is None:
        if method in ("organiser", "import"):
            raise forbidden("只有组织者可以代为签到签退",
                            "only an organiser may check members in or out")
        return
    if tree is None:
        # A caller's mistake, not the user's: without the tree nobody can be authorised.
        raise ValueError("pass the organisation tree along with recorded_by")
    authorise(tree, activity, recorded_by)


def existing(state: ActivityState | None) -> ActivityState:
    if state is None:
        raise not_found("activity_not_found", "活动不存在", "no such activity", "activity_id")
    return state


def _scheduled(state: ActivityState | None) -> ActivityState:
    activity = existing(state)
    if activity.status == "cancelled":
        raise Refusal("activity_cancelled", "活动已取消", "the activity was cancelled")
    if activity.status == "closed":
        raise Refusal("activity_closed", "活动已结束", "the activity is closed")
    return activity


def authorise(tree: OrgTree, activity: ActivityState, organiser: Organiser) -> None:
    """谁组织谁记录: only an organiser of the host unit or a unit above it."""
    if not tree.covers(organiser.scope_unit_id, activity.host_unit_id):
        raise forbidden("您不是该活动主办组织（或其上级）的组织者",
                        "only an organiser of the host unit or a unit above it may do this")


def schedule(tree: OrgTree, state: ActivityState | None, command: ScheduleActivity,
             activity_id: uuid.UUID, organiser: Organiser, *,
             known_organisers: Collection[uuid.UUID] = ()) -> list[Event]:
    """`known_organisers`: which of the command's `organiser_ids` are the tenant's
    organisers; any other id is refused (the scheduling organiser is always one)."""
    if state is not None:
        raise Refusal("activity_exists", "活动已存在", "the activity exists already",
                      field="activity_id")
    tree.active_unit(command.host_unit_id, "host_unit_id")
    if not tree.covers(organiser.scope_unit_id, command.host_unit_id):
        raise forbidden("您无权为该组织安排活动", "you may not schedule activities for that unit")
    title = _title(command.title)
    place = _place(command.place)
    _category(command.kind, command.category)
    beneficiary = _beneficiary(command.beneficiary)
    _window(command.starts_at, command.ends_at)
    _capacity(command.capacity)
    cap = command.hours_cap_minutes
    if cap is not None and not 0 <= cap <= MAX_CAP_MINUTES:
        raise invalid("invalid_hours_cap", "每人时长上限须在0至1440分钟之间",
                      "hours_cap_minutes must be 0–1440", "hours_cap_minutes")
    unknown = [i for i in command.organiser_ids
               if i != organiser.organiser_id and i not in known_organisers]
    if unknown:
        raise invalid("unknown_organiser", f"组织者不存在：{unknown[0]}",
                      f"no organiser {unknown[0]} in this tenant", "organiser_ids")
    organisers = list(dict.fromkeys([organiser.organiser_id, *command.organiser_ids]))
    return [ActivityScheduled(
        activity_id=activity_id, kind=command.kind, category=command.category,
        host_unit_id=command.host_unit_id, title=title, place=place,
        starts_at=command.starts_at, ends_at=command.ends_at, capacity=command.capacity,
        hours_cap_minutes=cap, organiser_ids=organisers, beneficiary=beneficiary,
    )]


def reschedule(tree: OrgTree, state: ActivityState | None, command: RescheduleActivity,
               organiser: Organiser) -> list[Event]:
    activity = _scheduled(state)
    authorise(tree, activity, organiser)
    _window(command.starts_at, command.ends_at)
    if activity.participations:
        raise Refusal("has_participation", "已有人签到，不能改期", "people have checked in already")
    place = activity.place if command.place is None else _place(command.place)
    return [ActivityRescheduled(
        activity_id=activity.activity_id, starts_at=command.starts_at, ends_at=command.ends_at,
        place=place, reason=_reason(command.reason),
    )]


def revise_details(tree: OrgTree, state: ActivityState | None,
                   command: ReviseActivityDetails, organiser: Organiser) -> list[Event]:
    """A new title or capacity while the activity can still change (not closed, not
    cancelled), also once it started or people checked in: a typo in the title is often
    found when people arrive, and more may come than planned. A closed activity's record
    is final, as rescheduling's is. The capacity never drops below the members already
    taking part (nobody checked in is turned away afterwards)."""
    activity = _scheduled(state)
    authorise(tree, activity, organiser)
    title = activity.title if command.title is msgspec.UNSET else _title(command.title)
    capacity = activity.capacity if command.capacity is msgspec.UNSET \
        else _capacity(command.capacity)
    if (title, capacity) == (activity.title, activity.capacity):
        raise Refusal("unchanged", "名称和人数上限都没有改变",
                      "neither the title nor the capacity changes", field="title")
    taking_part = len(activity.participants())
    if capacity is not None and capacity < taking_part:
        raise Refusal("capacity_below_participants",
                      f"已有 {taking_part} 人签到，人数上限不能少于 {taking_part}",
                      f"{taking_part} members have checked in already: the capacity cannot "
                      "be lower", field="capacity")
    return [ActivityDetailsRevised(activity_id=activity.activity_id, title=title,
                                   capacity=capacity, reason=_reason(command.reason))]


def cancel(tree: OrgTree, state: ActivityState | None, command: CancelActivity,
           organiser: Organiser) -> list[Event]:
    activity = _scheduled(state)
    authorise(tree, activity, organiser)
    if any(p.minutes is not None and not p.revoked for p in activity.participations.values()):
        raise Refusal("has_confirmed", "已有确认的服务记录，不能取消；请关闭活动",
                      "confirmed records exist; close the activity instead")
    return [ActivityCancelled(activity_id=activity.activity_id, reason=_reason(command.reason))]


def close(tree: OrgTree, state: ActivityState | None, organiser: Organiser,
          now: datetime, *, busy: Mapping[uuid.UUID, Sequence[Busy]] | None = None
          ) -> list[Event]:
    """Close; forgotten check-outs end at the scheduled end (or now, if earlier), flagged.

    `busy` (member id -> spans in other activities) ends a forgotten stay earlier still,
    when the member is known to have started elsewhere (a back-filled check-in can precede
    another activity); otherwise the same time would be credited twice.
    """
    activity = _scheduled(state)
    authorise(tree, activity, organiser)
    events: list[Event] = []
    for participation in activity.participations.values():
        if participation.open:
            member_id = participation.member_id
            elsewhere = [b for b in (busy or {}).get(member_id, ())
                         if b.activity_id != activity.activity_id]
            # Including a later stay in this same activity (possible after a back-fill).
            later = [*elsewhere, *busy_spans(activity, member_id,
                                             excluding=participation.participation_id)]
            ends = [min(now, activity.ends_at)]
            ends += [other.start for other in later
                     if other.start >= participation.checked_in_at]
            at = max(min(ends), participation.checked_in_at)
            events.append(CheckedOut(
                activity_id=activity.activity_id, member_id=participation.member_id,
                participation_id=participation.participation_id, at=at,
                method="organiser", auto=True, flags=["auto_closed"],
            ))
    events.append(ActivityClosed(activity_id=activity.activity_id, closed_at=now))
    return events


def check_in(state: ActivityState | None, member_state: MemberState | None, command: CheckIn,
             participation_id: uuid.UUID, *, now: datetime, grace: timedelta,
             busy: Sequence[Busy], recorded_by: Organiser | None = None,
             tree: OrgTree | None = None) -> list[Event]:
    activity = _scheduled(state)
    member = active(member_state)
    _aware(command.client_time, "client_time")
    _check_recorder(tree, activity, recorded_by, command.method)
    at = now
    if command.at is not None:
        if recorded_by is None:
            raise invalid("time_not_allowed", "只有组织者可以补录签到时间",
                          "only an organiser may give the check-in time", "at")
        at = _recorded_time(command.at, now, "at")
    if at < activity.starts_at - grace:
        raise Refusal("not_started", "活动尚未开始签到", "check-in has not opened yet", field="at")
    if at > activity.ends_at:
        raise Refusal("already_ended", "活动已结束，不能签到", "the activity has ended", field="at")
    if activity.open_participation(member.member_id) is not None:
        raise Refusal("already_checked_in", "您已签到，请勿重复签到", "already checked in",
                      field="member_id")
    if (activity.capacity is not None and not activity.takes_part(member.member_id)
            and len(activity.participants()) >= activity.capacity):
        raise Refusal("activity_full", "活动人数已满", "the activity is full")
    # The member's earlier participations in this same activity count too: an organiser
    # back-filling a check-in inside one of them would credit the same time twice.
    spans = [*(b for b in busy if b.activity_id != activity.activity_id),
             *busy_spans(activity, member.member_id)]
    for other in spans:
        if other.start <= at < other.end:
            raise Refusal(
                "overlapping_participation",
                f"您此时正在参加“{other.title}”，请先签退",
                f"you are taking part in {other.title!r} at this time; check out there first",
                field="member_id",
            )
    flags = []
    if at < activity.starts_at:
        flags.append("early")
    if command.device and activity.devices.get(command.device, set()) - {member.member_id}:
        flags.append("shared_device")
    if command.poster_only:
        flags.append("poster_only")
    return [CheckedIn(
        activity_id=activity.activity_id, member_id=member.member_id,
        participation_id=participation_id, at=at, method=command.method,
        client_time=command.client_time, device=command.device, flags=flags,
    )]


def check_out(state: ActivityState | None, command: CheckOut, *, now: datetime,
              recorded_by: Organiser | None = None, tree: OrgTree | None = None,
              busy: Sequence[Busy] = ()) -> list[Event]:
    """`busy`: the member's spans in other activities (as for check_in). A back-filled
    check-in followed by a late check-out could otherwise straddle another activity."""
    # Closing checked everyone out already: say so rather than "not checked in".
    activity = _scheduled(state)
    _aware(command.client_time, "client_time")
    _check_recorder(tree, activity, recorded_by, command.method)
    participation = activity.open_participation(command.member_id)
    if participation is None:
        raise Refusal("not_checked_in", "您还没有签到", "not checked in", field="member_id")
    at = now
    if command.at is not None:
        if recorded_by is None:
            raise invalid("time_not_allowed", "只有组织者可以补录签退时间",
                          "only an organiser may give the check-out time", "at")
        at = _recorded_time(command.at, now, "at")
    if at < participation.checked_in_at:
        raise invalid("before_check_in", "签退时间不能早于签到时间",
                      "check-out must be after check-in", "at")
    _no_overlap(activity, participation, participation.checked_in_at, at, busy, "at")
    flags = ["late"] if at > activity.ends_at else []
    return [CheckedOut(
        activity_id=activity.activity_id, member_id=participation.member_id,
        participation_id=participation.participation_id, at=at, method=command.method,
        client_time=command.client_time, flags=flags,
    )]


def _participation(activity: ActivityState, participation_id: uuid.UUID) -> Participation:
    participation = activity.participations.get(participation_id)
    if participation is None:
        raise not_found("participation_not_found", "没有这条签到记录", "no such participation",
                        "participation_id")
    if participation.revoked:
        raise Refusal("participation_revoked", "该记录已撤销", "the record was revoked",
                      field="participation_id")
    return participation


def _minutes_allowed(activity: ActivityState, minutes: int) -> None:
    if minutes < 0:
        raise invalid("invalid_minutes", "时长不能为负", "minutes cannot be negative", "minutes")
    if activity.category == "attendance" and minutes > 0:
        raise invalid("attendance_no_hours", "会议、党课等只计出勤，不计服务时长",
                      "attendance activities credit no service hours", "minutes")


def _credit(activity: ActivityState, checked_in_at: datetime, checked_out_at: datetime,
            minutes: int | None) -> int:
    """What a confirmation credits: at most the time present (no reason is given)."""
    allowed = activity.creditable_minutes(checked_in_at, checked_out_at)
    if minutes is None:
        return allowed
    _minutes_allowed(activity, minutes)
    if minutes > allowed:
        raise invalid(
            "minutes_exceed_presence",
            f"确认时长不能超过在场且在活动时段内的时间（最多 {hours(allowed)} 小时）；"
            "如确实在场更久，请确认后提交更正并说明原因",
            f"at most {allowed} minutes: time present within the window, capped; "
            "to credit more, confirm and then correct with a reason",
            "minutes",
        )
    return minutes


def _corrected_credit(activity: ActivityState, checked_in_at: datetime,
                      checked_out_at: datetime, minutes: int) -> bool:
    """Checks a correction's minutes against the window; True when beyond presence."""
    _minutes_allowed(activity, minutes)
    most = activity.most_creditable()
    if minutes > most:
        raise invalid(
            "minutes_exceed_window",
            f"认定时长不能超过活动时段（含每次时长上限）：最多 {hours(most)} 小时",
            f"at most {most} minutes: the scheduled window, capped", "minutes")
    return minutes > activity.creditable_minutes(checked_in_at, checked_out_at)


def confirm(tree: OrgTree, state: ActivityState | None, command: ConfirmAttendance,
            organiser: Organiser, now: datetime) -> list[Event]:
    activity = existing(state)
    if activity.status == "cancelled":
        raise Refusal("activity_cancelled", "活动已取消", "the activity was cancelled")
    authorise(tree, activity, organiser)
    participation = _participation(activity, command.participation_id)
    if participation.checked_out_at is None:
        raise Refusal("not_checked_out", "尚未签退，请先签退或关闭活动",
                      "not checked out yet: check out or close the activity first",
                      field="participation_id")
    if participation.minutes is not None:
        raise Refusal("already_confirmed", "已确认过，如需修改请提交更正",
                      "already confirmed; record a correction instead", field="participation_id")
    minutes = _credit(activity, participation.checked_in_at, participation.checked_out_at,
                      command.minutes)
    return [AttendanceConfirmed(
        activity_id=activity.activity_id, member_id=participation.member_id,
        participation_id=participation.participation_id, minutes=minutes,
        confirmed_by=organiser.organiser_id, confirmed_at=now,
    )]


def correct(tree: OrgTree, state: ActivityState | None, command: CorrectParticipation,
            organiser: Organiser, now: datetime, *, busy: Sequence[Busy] = ()) -> list[Event]:
    """`busy`: the member's spans in other activities; amended times must not overlap them."""
    activity = existing(state)
    authorise(tree, activity, organiser)
    participation = _participation(activity, command.participation_id)
    if participation.minutes is None:
        raise Refusal("not_confirmed", "尚未确认，请直接确认", "not confirmed yet: confirm it",
                      field="participation_id")
    for name in ("checked_in_at", "checked_out_at"):
        moment = getattr(command, name)
        if moment is not None:
            _recorded_time(moment, now, name)
    checked_in_at = command.checked_in_at or participation.checked_in_at
    checked_out_at = command.checked_out_at or participation.checked_out_at
    assert checked_out_at is not None  # confirmed implies checked out
    if checked_out_at < checked_in_at:
        raise invalid("before_check_in", "签退时间不能早于签到时间",
                      "check-out must be after check-in", "checked_out_at")
    if command.checked_in_at is not None or command.checked_out_at is not None:
        _no_overlap(activity, participation, checked_in_at, checked_out_at, busy,
                    "checked_in_at" if command.checked_in_at is not None else "checked_out_at")
    if (command.minutes == participation.minutes and command.checked_in_at is None
            and command.checked_out_at is None):
        raise Refusal("unchanged", "时长未改变", "the minutes are unchanged", field="minutes")
    return [_correction(activity, participation, command.minutes, command.reason, organiser,
                        now, checked_in_at=command.checked_in_at,
                        checked_out_at=command.checked_out_at)]


def _correction(activity: ActivityState, participation: Participation, minutes: int,
                reason: str, organiser: Organiser, now: datetime, *,
                checked_in_at: datetime | None = None, checked_out_at: datetime | None = None,
                answer: Literal["accepted", "amended"] | None = None
                ) -> ParticipationCorrected:
    present_from = checked_in_at or participation.checked_in_at
    present_to = checked_out_at or participation.checked_out_at
    assert present_to is not None  # confirmed implies checked out
    beyond = _corrected_credit(activity, present_from, present_to, minutes)
    assert participation.minutes is not None  # only confirmed records are corrected
    return ParticipationCorrected(
        activity_id=activity.activity_id, member_id=participation.member_id,
        participation_id=participation.participation_id, minutes=minutes,
        previous_minutes=participation.minutes, checked_in_at=checked_in_at,
        checked_out_at=checked_out_at, reason=_reason(reason),
        corrected_by=organiser.organiser_id, corrected_at=now, beyond_presence=beyond,
        answer=answer,
    )


def _open_request(tree: OrgTree, state: ActivityState | None, participation_id: uuid.UUID,
                  organiser: Organiser) -> tuple[ActivityState, Participation, OpenRequest]:
    activity = existing(state)
    authorise(tree, activity, organiser)
    participation = _participation(activity, participation_id)
    if not participation.requests:
        raise Refusal("no_open_request", "该记录没有待处理的更正申请",
                      "the record has no open correction request", field="participation_id")
    return activity, participation, participation.requests[-1]


def _answerable(participation: Participation, minutes: int) -> None:
    """Crediting through a request corrects a confirmed record with new minutes."""
    if participation.minutes is None:
        raise Refusal("not_confirmed", "尚未确认出勤：请先确认，再处理更正申请",
                      "not confirmed yet: confirm it, then answer the request",
                      field="participation_id")
    if minutes == participation.minutes:
        raise Refusal("unchanged",
                      f"已认定 {hours(minutes)} 小时，与申请相同；如不更改请拒绝并说明原因",
                      "the minutes are unchanged: refuse the request instead", field="minutes")


def accept_request(tree: OrgTree, state: ActivityState | None,
                   command: AcceptCorrectionRequest, organiser: Organiser,
                   now: datetime) -> list[Event]:
    """As asked: the newest open request's hours, for the member's reason."""
    activity, participation, request = _open_request(tree, state, command.participation_id,
                                                     organiser)
    if request.requested_minutes is None:
        raise Refusal("no_hours_asked", "申请未写明时长：请填写认定时长并说明原因（修改认定）",
                      "the request names no hours: amend it instead", field="participation_id")
    _answerable(participation, request.requested_minutes)
    return [_correction(activity, participation, request.requested_minutes, request.reason,
                        organiser, now, answer="accepted")]


def amend_request(tree: OrgTree, state: ActivityState | None, command: AmendCorrectionRequest,
                  organiser: Organiser, now: datetime) -> list[Event]:
    activity, participation, _request = _open_request(tree, state, command.participation_id,
                                                      organiser)
    _answerable(participation, command.minutes)
    return [_correction(activity, participation, command.minutes, command.reason, organiser,
                        now, answer="amended")]


def refuse_request(tree: OrgTree, state: ActivityState | None,
                   command: RefuseCorrectionRequest, organiser: Organiser,
                   now: datetime) -> list[Event]:
    activity, participation, _request = _open_request(tree, state, command.participation_id,
                                                      organiser)
    return [CorrectionRequestRefused(
        activity_id=activity.activity_id, member_id=participation.member_id,
        participation_id=participation.participation_id, reason=_reason(command.reason),
        refused_by=organiser.organiser_id, refused_at=now,
    )]


def revoke(tree: OrgTree, state: ActivityState | None, command: RevokeParticipation,
           organiser: Organiser, now: datetime) -> list[Event]:
    activity = existing(state)
    authorise(tree, activity, organiser)
    participation = _participation(activity, command.participation_id)
    return [ParticipationRevoked(
        activity_id=activity.activity_id, member_id=participation.member_id,
        participation_id=participation.participation_id, reason=_reason(command.reason),
        revoked_by=organiser.organiser_id, revoked_at=now,
    )]


def request_correction(state: ActivityState | None, command: RequestCorrection,
                       now: datetime) -> list[Event]:
    activity = existing(state)
    participation = _participation(activity, command.participation_id)
    if participation.member_id != command.member_id:
        raise forbidden("只能为自己的记录申请更正", "you can only ask to correct your own record")
    if command.requested_minutes is not None and \
            not 0 <= command.requested_minutes <= MAX_CAP_MINUTES:
        raise invalid("invalid_minutes", f"时长须在0至{MAX_CAP_MINUTES}分钟之间",
                      f"minutes must be 0–{MAX_CAP_MINUTES}", "requested_minutes")
    return [CorrectionRequested(
        activity_id=activity.activity_id, member_id=participation.member_id,
        participation_id=participation.participation_id, reason=_reason(command.reason),
        requested_minutes=command.requested_minutes, requested_at=now,
    )]


def _span_end(activity: ActivityState, checked_in_at: datetime,
              checked_out_at: datetime | None) -> datetime:
    """Where a stay stops counting: an open check-in runs to the scheduled end, and time
    after the scheduled end is credited nowhere, so it keeps the member busy nowhere."""
    end = activity.ends_at if checked_out_at is None else min(checked_out_at, activity.ends_at)
    return max(end, checked_in_at)


def busy_spans(activity: ActivityState, member_id: uuid.UUID,
               *, excluding: uuid.UUID | None = None) -> list[Busy]:
    """The member's time in this activity (see `_span_end`); none if it was cancelled.

    `excluding` leaves out one participation (the one being checked out or corrected).
    """
    if activity.status == "cancelled":
        return []
    return [
        stay(activity, p.checked_in_at, p.checked_out_at)
        for p in activity.by_member.get(member_id, ())
        if not p.revoked and p.participation_id != excluding
    ]


def stay(activity: ActivityState, checked_in_at: datetime,
         checked_out_at: datetime | None) -> Busy:
    """The stretch of time a stay in this activity keeps a member busy (see `_span_end`)."""
    return Busy(activity.activity_id, activity.title, checked_in_at,
                _span_end(activity, checked_in_at, checked_out_at))


def _no_overlap(activity: ActivityState, participation: Participation, checked_in_at: datetime,
                checked_out_at: datetime, busy: Sequence[Busy], name: str) -> None:
    """The stay [in, out) must not overlap the member's other participations: in other
    activities (`busy`, from the caller) or earlier in this one."""
    start, end = checked_in_at, _span_end(activity, checked_in_at, checked_out_at)
    spans = [*(b for b in busy if b.activity_id != activity.activity_id),
             *busy_spans(activity, participation.member_id,
                         excluding=participation.participation_id)]
    for other in spans:
        if other.start < end and start < other.end:
            raise Refusal(
                "overlapping_participation",
                f"该时段与“{other.title}”的参与时间重叠",
                f"this overlaps the member's time in {other.title!r}",
                field=name,
            )
