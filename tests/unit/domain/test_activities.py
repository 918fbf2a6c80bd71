"""Scheduling, rescheduling, cancelling and closing activities (谁组织谁记录: only an
organiser whose scope covers the host unit may do any of it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from contract.events import (
    ActivityCancelled,
    ActivityClosed,
    ActivityDetailsRevised,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedOut,
    ParticipationRevoked,
    UnitDissolved,
)
from ledger.domain.activities import (
    Busy,
    CancelActivity,
    CheckIn,
    RescheduleActivity,
    ReviseActivityDetails,
    ScheduleActivity,
    cancel,
    check_in,
    close,
    reschedule,
    revise_details,
    schedule,
)

from .builders import (
    END,
    FOUNDED,
    GRACE,
    START,
    Org,
    activity,
    attended,
    checked_in,
    member,
    new_id,
    refused,
    sh,
    then,
)


@pytest.fixture
def org() -> Org:
    return Org()


def plan(org: Org, **overrides: Any) -> ScheduleActivity:
    fields: dict[str, Any] = {
        "kind": "patrol", "category": "service", "host_unit_id": org.branch,
        "title": " 红袖章巡逻 ", "place": " 一号院东门 ", "starts_at": START, "ends_at": END,
        "capacity": 10, "hours_cap_minutes": 90,
    }
    fields.update(overrides)
    return ScheduleActivity(**fields)


# --- schedule ----------------------------------------------------------------------------


def test_an_organiser_schedules_an_activity_and_is_its_first_organiser(org: Org) -> None:
    organiser, helper = org.organiser(org.branch), new_id()
    activity_id = new_id()
    events = schedule(org.tree, None, plan(org, organiser_ids=[helper, organiser.organiser_id]),
                      activity_id, organiser, known_organisers={helper})
    assert events == [ActivityScheduled(
        activity_id=activity_id, kind="patrol", category="service", host_unit_id=org.branch,
        title="红袖章巡逻", place="一号院东门", starts_at=START, ends_at=END, capacity=10,
        hours_cap_minutes=90, organiser_ids=[organiser.organiser_id, helper],
    )]


def test_a_co_organiser_must_be_an_organiser_of_the_tenant(org: Org) -> None:
    organiser, helper, stranger = org.organiser(org.branch), new_id(), new_id()
    with refused("unknown_organiser", field="organiser_ids", status=422):
        schedule(org.tree, None, plan(org, organiser_ids=[helper, stranger]), new_id(),
                 organiser, known_organisers={helper})


@pytest.mark.parametrize("scope", ["branch", "community", "street", "district", None])
def test_the_host_unit_or_a_unit_above_it_may_schedule(org: Org, scope: str | None) -> None:
    organiser = org.organiser(getattr(org, scope) if scope else None)
    assert schedule(org.tree, None, plan(org), new_id(), organiser)


@pytest.mark.parametrize("scope", ["group", "team", "other_community", "other_branch"])
def test_a_unit_below_or_beside_the_host_may_not_schedule(org: Org, scope: str) -> None:
    with refused("forbidden", status=403):
        schedule(org.tree, None, plan(org), new_id(), org.organiser(getattr(org, scope)))


def test_the_host_unit_must_exist_and_be_active(org: Org) -> None:
    with refused("unit_not_found", field="host_unit_id", status=404):
        schedule(org.tree, None, plan(org, host_unit_id=new_id()), new_id(),
                 org.organiser(None))
    org.tree.apply(UnitDissolved(unit_id=org.group, effective=FOUNDED))
    with refused("unit_inactive", field="host_unit_id"):
        schedule(org.tree, None, plan(org, host_unit_id=org.group), new_id(),
                 org.organiser(None))


def test_an_activity_is_scheduled_once(org: Org) -> None:
    existing = activity(org.branch)
    with refused("activity_exists", field="activity_id"):
        schedule(org.tree, existing, plan(org), existing.activity_id, org.organiser(None))


@pytest.mark.parametrize(("overrides", "code", "field"), [
    ({"title": "  "}, "invalid_title", "title"),
    ({"title": "题" * 201}, "invalid_title", "title"),
    ({"place": ""}, "invalid_place", "place"),
    ({"ends_at": START}, "invalid_window", "ends_at"),
    ({"ends_at": START - timedelta(minutes=1)}, "invalid_window", "ends_at"),
    ({"ends_at": START + timedelta(hours=24, minutes=1)}, "window_too_long", "ends_at"),
    ({"starts_at": START.replace(tzinfo=None)}, "timezone_required", "starts_at"),
    ({"ends_at": END.replace(tzinfo=None)}, "timezone_required", "ends_at"),
    ({"capacity": 0}, "invalid_capacity", "capacity"),
    ({"hours_cap_minutes": -1}, "invalid_hours_cap", "hours_cap_minutes"),
    ({"hours_cap_minutes": 24 * 60 + 1}, "invalid_hours_cap", "hours_cap_minutes"),
    ({"beneficiary": "老" * 201}, "invalid_beneficiary", "beneficiary"),
    ({"beneficiary": "独居老人\x00"}, "control_characters", "beneficiary"),
    ({"beneficiary": "3号楼\n4号楼"}, "control_characters", "beneficiary"),
    ({"beneficiary": "3号楼\x854号楼"}, "control_characters", "beneficiary"),
    ({"title": "楼道\x00清理"}, "control_characters", "title"),
    ({"title": "楼道清理\n"}, "control_characters", "title"),
    ({"place": "3号楼\t"}, "control_characters", "place"),
    ({"capacity": 100_001}, "invalid_capacity", "capacity"),
    ({"kind": "forum"}, "attendance_kind", "category"),
    ({"kind": "meeting"}, "attendance_kind", "category"),
    ({"kind": "lecture"}, "attendance_kind", "category"),
])
def test_malformed_activities_are_refused(org: Org, overrides: dict[str, Any], code: str,
                                          field: str) -> None:
    with refused(code, field=field, status=422):
        schedule(org.tree, None, plan(org, **overrides), new_id(), org.organiser(None))


def test_the_beneficiary_is_kept_trimmed_and_a_forum_is_an_attendance_activity(
        org: Org) -> None:
    [event] = schedule(org.tree, None, plan(org, kind="forum", category="attendance",
                                            beneficiary=" 居民代表 " + "老" * 195),
                       new_id(), org.organiser(None))
    assert isinstance(event, ActivityScheduled)
    assert (event.kind, event.beneficiary) == ("forum", "居民代表 " + "老" * 195)
    assert len(event.beneficiary) == 200


def test_an_activity_may_last_exactly_24_hours_across_a_month_end(org: Org) -> None:
    # National Day patrol in shifts: 30 Sep 08:00 to 1 Oct 08:00, Shanghai time.
    starts, ends = sh(2026, 9, 30, 8), sh(2026, 10, 1, 8)
    [event] = schedule(org.tree, None, plan(org, starts_at=starts, ends_at=ends), new_id(),
                       org.organiser(None))
    assert isinstance(event, ActivityScheduled)
    assert (event.starts_at, event.ends_at) == (starts, ends)


# --- reschedule --------------------------------------------------------------------------


def test_an_activity_nobody_joined_yet_is_rescheduled_with_a_reason(org: Org) -> None:
    state = activity(org.branch)
    later = START + timedelta(days=7)
    events = reschedule(org.tree, state, RescheduleActivity(
        starts_at=later, ends_at=later + timedelta(hours=2), reason=" 下雨 "),
        org.organiser(org.community))
    assert events == [ActivityRescheduled(
        activity_id=state.activity_id, starts_at=later, ends_at=later + timedelta(hours=2),
        place="一号院3号楼", reason="下雨")]


def test_a_reschedule_may_move_the_place(org: Org) -> None:
    state = activity(org.branch)
    [event] = reschedule(org.tree, state, RescheduleActivity(
        starts_at=START, ends_at=END, place=" 社区广场 ", reason="场地冲突"),
        org.organiser(org.branch))
    assert isinstance(event, ActivityRescheduled)
    assert event.place == "社区广场"


def test_a_reschedule_cannot_blank_the_place(org: Org) -> None:
    with refused("invalid_place", field="place", status=422):
        reschedule(org.tree, activity(org.branch), RescheduleActivity(
            starts_at=START, ends_at=END, place="   ", reason="场地冲突"), org.organiser(None))


def test_a_reschedule_needs_a_reason(org: Org) -> None:
    with refused("reason_required", field="reason", status=422):
        reschedule(org.tree, activity(org.branch), RescheduleActivity(
            starts_at=START, ends_at=END, reason=" "), org.organiser(None))


def test_a_reschedule_keeps_the_window_rules(org: Org) -> None:
    with refused("invalid_window", field="ends_at", status=422):
        reschedule(org.tree, activity(org.branch), RescheduleActivity(
            starts_at=END, ends_at=START, reason="改期"), org.organiser(None))


def test_an_activity_someone_checked_into_cannot_be_rescheduled(org: Org) -> None:
    state = activity(org.branch)
    checked_in(state, member(), START)
    with refused("has_participation"):
        reschedule(org.tree, state, RescheduleActivity(
            starts_at=START, ends_at=END + timedelta(hours=1), reason="延长"),
            org.organiser(None))


def test_only_an_organiser_covering_the_host_reschedules(org: Org) -> None:
    with refused("forbidden", status=403):
        reschedule(org.tree, activity(org.branch), RescheduleActivity(
            starts_at=START, ends_at=END, reason="改期"), org.organiser(org.other_community))


def test_an_unknown_activity_is_not_found(org: Org) -> None:
    with refused("activity_not_found", field="activity_id", status=404):
        reschedule(org.tree, None, RescheduleActivity(starts_at=START, ends_at=END,
                                                      reason="改期"), org.organiser(None))


# --- revise the title and capacity -------------------------------------------------------


def test_a_title_is_revised_with_a_reason_and_the_capacity_kept(org: Org) -> None:
    state = activity(org.branch, capacity=30)
    events = revise_details(org.tree, state, ReviseActivityDetails(
        title=" 清理楼道堆物（3号楼） ", reason=" 写清楼号 "), org.organiser(org.community))
    assert events == [ActivityDetailsRevised(
        activity_id=state.activity_id, title="清理楼道堆物（3号楼）", capacity=30,
        reason="写清楼号")]
    then(state, events)
    assert (state.title, state.capacity) == ("清理楼道堆物（3号楼）", 30)


def test_the_capacity_is_raised_lowered_or_lifted_after_people_checked_in(org: Org) -> None:
    state = activity(org.branch, capacity=3)
    for _ in range(2):
        checked_in(state, member(), START)
    for capacity in (5, 2, None):
        events = revise_details(org.tree, state, ReviseActivityDetails(
            capacity=capacity, reason="人数调整"), org.organiser(org.branch))
        assert events == [ActivityDetailsRevised(
            activity_id=state.activity_id, title="清理楼道堆物", capacity=capacity,
            reason="人数调整")]
        then(state, events)
        assert state.capacity == capacity


def test_the_capacity_never_drops_below_who_checked_in(org: Org) -> None:
    state = activity(org.branch, capacity=10)
    for _ in range(3):
        checked_in(state, member(), START)
    with refused("capacity_below_participants", field="capacity", status=409):
        revise_details(org.tree, state, ReviseActivityDetails(capacity=2, reason="场地小"),
                       org.organiser(None))
    # A new capacity of exactly those present closes the door to newcomers.
    then(state, revise_details(org.tree, state, ReviseActivityDetails(capacity=3,
                                                                        reason="场地小"),
                               org.organiser(None)))
    with refused("activity_full"):
        checked_in(state, member(), START)


def test_a_revision_keeps_the_title_rules(org: Org) -> None:
    for title, code in (("   ", "invalid_title"), ("楼" * 201, "invalid_title"),
                        ("清理\x00", "control_characters")):
        with refused(code, field="title", status=422):
            revise_details(org.tree, activity(org.branch), ReviseActivityDetails(
                title=title, reason="改名"), org.organiser(None))
    with refused("invalid_capacity", field="capacity", status=422):
        revise_details(org.tree, activity(org.branch), ReviseActivityDetails(
            capacity=0, reason="改人数"), org.organiser(None))


def test_a_revision_needs_a_reason_and_a_change(org: Org) -> None:
    with refused("reason_required", field="reason", status=422):
        revise_details(org.tree, activity(org.branch), ReviseActivityDetails(
            title="新名称", reason=" "), org.organiser(None))
    with refused("unchanged", status=409):
        revise_details(org.tree, activity(org.branch), ReviseActivityDetails(
            title=" 清理楼道堆物 ", capacity=None, reason="没改"), org.organiser(None))
    with refused("unchanged", status=409):
        revise_details(org.tree, activity(org.branch), ReviseActivityDetails(reason="没改"),
                       org.organiser(None))


def test_a_closed_or_cancelled_activity_is_not_revised(org: Org) -> None:
    closed, cancelled = activity(org.branch), activity(org.branch)
    then(closed, close(org.tree, closed, org.organiser(None), END))
    then(cancelled, cancel(org.tree, cancelled, CancelActivity(reason="停电"),
                           org.organiser(None)))
    for state, code in ((closed, "activity_closed"), (cancelled, "activity_cancelled")):
        with refused(code, status=409):
            revise_details(org.tree, state, ReviseActivityDetails(title="新名称", reason="改名"),
                           org.organiser(None))


def test_only_an_organiser_covering_the_host_revises(org: Org) -> None:
    with refused("forbidden", status=403):
        revise_details(org.tree, activity(org.branch), ReviseActivityDetails(
            title="新名称", reason="改名"), org.organiser(org.other_community))
    with refused("activity_not_found", status=404):
        revise_details(org.tree, None, ReviseActivityDetails(title="新名称", reason="改名"),
                       org.organiser(None))


# --- cancel ------------------------------------------------------------------------------


def test_an_activity_is_cancelled_with_a_reason(org: Org) -> None:
    state = activity(org.branch)
    assert cancel(org.tree, state, CancelActivity(reason=" 台风 "), org.organiser(org.branch)) \
        == [ActivityCancelled(activity_id=state.activity_id, reason="台风")]


def test_a_cancellation_needs_a_reason(org: Org) -> None:
    with refused("reason_required", field="reason", status=422):
        cancel(org.tree, activity(org.branch), CancelActivity(reason=""), org.organiser(None))


def test_only_an_organiser_covering_the_host_cancels(org: Org) -> None:
    with refused("forbidden", status=403):
        cancel(org.tree, activity(org.branch), CancelActivity(reason="台风"),
               org.organiser(org.group))


def test_an_activity_with_confirmed_service_is_closed_not_cancelled(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    then(state, [AttendanceConfirmed(activity_id=state.activity_id,
                                     member_id=state.participations[participation_id].member_id,
                                     participation_id=participation_id, minutes=120,
                                     confirmed_by=new_id(), confirmed_at=END)])
    with refused("has_confirmed"):
        cancel(org.tree, state, CancelActivity(reason="台风"), org.organiser(None))


@pytest.mark.parametrize(("ending", "code"), [
    (ActivityCancelled, "activity_cancelled"), (ActivityClosed, "activity_closed")])
def test_a_cancelled_or_closed_activity_cannot_be_cancelled(org: Org, ending: type,
                                                             code: str) -> None:
    state = activity(org.branch)
    fields = {"reason": "x"} if ending is ActivityCancelled else {"closed_at": END}
    then(state, [ending(activity_id=state.activity_id, **fields)])
    with refused(code):
        cancel(org.tree, state, CancelActivity(reason="台风"), org.organiser(None))


# --- close -------------------------------------------------------------------------------


def test_closing_checks_out_forgotten_check_ins_at_the_scheduled_end_flagged(org: Org) -> None:
    state = activity(org.branch)
    forgetful, careful = member(), member()
    forgotten = checked_in(state, forgetful, START - timedelta(minutes=5))
    attended(state, careful, START, START + timedelta(minutes=50))
    now = END + timedelta(hours=3)
    assert close(org.tree, state, org.organiser(org.community), now) == [
        CheckedOut(activity_id=state.activity_id, member_id=forgetful.member_id,
                   participation_id=forgotten, at=END, method="organiser", auto=True,
                   flags=["auto_closed"]),
        ActivityClosed(activity_id=state.activity_id, closed_at=now),
    ]


def test_closing_early_checks_forgotten_check_ins_out_now(org: Org) -> None:
    state = activity(org.branch)
    who = member()
    participation_id = checked_in(state, who, START)
    now = START + timedelta(minutes=40)
    events = close(org.tree, state, org.organiser(None), now)
    assert events[0] == CheckedOut(activity_id=state.activity_id, member_id=who.member_id,
                                   participation_id=participation_id, at=now,
                                   method="organiser", auto=True, flags=["auto_closed"])


def test_closing_before_the_start_never_checks_out_before_the_check_in(org: Org) -> None:
    state = activity(org.branch)
    early = START - timedelta(minutes=10)
    checked_in(state, member(), early)
    [checked_out, _] = close(org.tree, state, org.organiser(None), early)
    assert isinstance(checked_out, CheckedOut)
    assert checked_out.at == early


def test_closing_ends_a_forgotten_stay_where_the_member_started_elsewhere(org: Org) -> None:
    # A check-in back-filled at 09:00 while the member is known to have joined a home visit
    # at 10:00: the forgotten stay ends at 10:00, not at the scheduled 11:00.
    state = activity(org.branch)
    who, other = member(), member()
    organiser = org.organiser(org.branch)
    forgotten = new_id()
    then(state, check_in(state, who, CheckIn(member_id=who.member_id, method="organiser",
                                             at=START),
                         forgotten, now=END, grace=GRACE, busy=[], recorded_by=organiser,
                         tree=org.tree))
    checked_in(state, other, START + timedelta(minutes=1))
    visit = Busy(new_id(), "走访独居老人", START + timedelta(hours=1), END)
    earlier = Busy(new_id(), "早班巡逻", START - timedelta(hours=2), START)
    events = close(org.tree, state, organiser, END + timedelta(hours=1),
                   busy={who.member_id: [earlier, visit]})
    assert [(e.member_id, e.at) for e in events if isinstance(e, CheckedOut)] == [
        (who.member_id, visit.start), (other.member_id, END)]


def test_closing_leaves_revoked_check_ins_alone(org: Org) -> None:
    state = activity(org.branch)
    who = member()
    participation_id = checked_in(state, who, START)
    then(state, [ParticipationRevoked(activity_id=state.activity_id, member_id=who.member_id,
                                      participation_id=participation_id, reason="代签",
                                      revoked_by=new_id(), revoked_at=START)])
    assert close(org.tree, state, org.organiser(None), END) == [
        ActivityClosed(activity_id=state.activity_id, closed_at=END)]


def test_a_closed_activity_has_no_open_check_ins_left(org: Org) -> None:
    state = activity(org.branch)
    who = member()
    checked_in(state, who, START)
    then(state, close(org.tree, state, org.organiser(None), END))
    assert state.status == "closed"
    assert state.open_participation(who.member_id) is None


def test_only_an_organiser_covering_the_host_closes(org: Org) -> None:
    with refused("forbidden", status=403):
        close(org.tree, activity(org.branch), org.organiser(org.other_branch), END)


@pytest.mark.parametrize(("ending", "code"), [
    (ActivityCancelled, "activity_cancelled"), (ActivityClosed, "activity_closed")])
def test_a_cancelled_or_closed_activity_cannot_be_closed(org: Org, ending: type,
                                                          code: str) -> None:
    state = activity(org.branch)
    fields = {"reason": "x"} if ending is ActivityCancelled else {"closed_at": END}
    then(state, [ending(activity_id=state.activity_id, **fields)])
    with refused(code):
        close(org.tree, state, org.organiser(None), END)
