"""Confirming, correcting and revoking service records (谁组织谁记录, 谁记录谁证明).

Credited minutes never exceed the time present within the scheduled window, nor the
activity's cap; attendance activities credit 0; corrections are new entries with a reason
and the previous minutes; members may only ask for a correction of their own record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.calendar import month_of
from contract.events import (
    ActivityCancelled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    CorrectionRequested,
    ParticipationCorrected,
    ParticipationRevoked,
)
from contract.problems import Refusal
from ledger.domain.activities import (
    ActivityState,
    Busy,
    ConfirmAttendance,
    CorrectParticipation,
    RequestCorrection,
    RevokeParticipation,
    close,
    confirm,
    correct,
    request_correction,
    revoke,
)
from ledger.domain.members import MemberState

from .builders import (
    END,
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

NOW = END + timedelta(hours=1)


@pytest.fixture
def org() -> Org:
    return Org()


# --- confirm -----------------------------------------------------------------------------


def test_confirming_credits_the_time_present_within_the_window_by_default(org: Org) -> None:
    state, who = activity(org.branch), member()
    # Arrived 10 minutes early and stayed 20 minutes late: only 09:00–11:00 counts.
    participation_id = attended(state, who, START - timedelta(minutes=10),
                                END + timedelta(minutes=20))
    organiser = org.organiser(org.branch)
    assert confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                   organiser, NOW) == [
        AttendanceConfirmed(activity_id=state.activity_id, member_id=who.member_id,
                            participation_id=participation_id, minutes=120,
                            confirmed_by=organiser.organiser_id, confirmed_at=NOW)]


def test_the_activity_cap_limits_the_default_credit(org: Org) -> None:
    state = activity(org.branch, hours_cap_minutes=90)
    participation_id = attended(state, member(), START, END)
    [event] = confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                      org.organiser(None), NOW)
    assert isinstance(event, AttendanceConfirmed)
    assert event.minutes == 90


def test_partial_minutes_are_not_rounded_up(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START + timedelta(seconds=30),
                                START + timedelta(minutes=45))
    [event] = confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                      org.organiser(None), NOW)
    assert isinstance(event, AttendanceConfirmed)
    assert event.minutes == 44


def test_an_organiser_may_credit_less_than_the_time_present(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    [event] = confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id,
                                                         minutes=60),
                      org.organiser(None), NOW)
    assert isinstance(event, AttendanceConfirmed)
    assert event.minutes == 60


def test_crediting_more_than_the_time_present_within_the_window_is_refused(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START + timedelta(minutes=30), END)
    with refused("minutes_exceed_presence", field="minutes", status=422):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id,
                                                   minutes=91), org.organiser(None), NOW)


def test_crediting_more_than_the_cap_is_refused(org: Org) -> None:
    state = activity(org.branch, hours_cap_minutes=60)
    participation_id = attended(state, member(), START, END)
    with refused("minutes_exceed_presence", field="minutes", status=422):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id,
                                                   minutes=61), org.organiser(None), NOW)


def test_negative_minutes_are_refused(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    with refused("invalid_minutes", field="minutes", status=422):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id,
                                                   minutes=-1), org.organiser(None), NOW)


def test_an_attendance_activity_is_confirmed_with_zero_minutes(org: Org) -> None:
    lecture = activity(org.community, kind="lecture", category="attendance")
    participation_id = attended(lecture, member(), START, END)
    [event] = confirm(org.tree, lecture, ConfirmAttendance(participation_id=participation_id),
                      org.organiser(None), NOW)
    assert isinstance(event, AttendanceConfirmed)
    assert event.minutes == 0


def test_an_attendance_activity_refuses_service_minutes(org: Org) -> None:
    meeting = activity(org.community, kind="meeting", category="attendance")
    participation_id = attended(meeting, member(), START, END)
    with refused("attendance_no_hours", field="minutes", status=422):
        confirm(org.tree, meeting, ConfirmAttendance(participation_id=participation_id,
                                                     minutes=1), org.organiser(None), NOW)


@pytest.mark.parametrize("scope", ["group", "team", "other_community"])
def test_only_an_organiser_covering_the_host_unit_confirms(org: Org, scope: str) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    with refused("forbidden", status=403):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                org.organiser(getattr(org, scope)), NOW)


def test_a_record_still_checked_in_is_not_confirmed(org: Org) -> None:
    state = activity(org.branch)
    participation_id = checked_in(state, member(), START)
    with refused("not_checked_out", field="participation_id"):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                org.organiser(None), NOW)


def test_a_record_is_confirmed_once(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    then(state, confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                        org.organiser(None), NOW))
    with refused("already_confirmed", field="participation_id"):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                org.organiser(None), NOW)


def test_an_unknown_record_is_not_found(org: Org) -> None:
    with refused("participation_not_found", field="participation_id", status=404):
        confirm(org.tree, activity(org.branch), ConfirmAttendance(participation_id=new_id()),
                org.organiser(None), NOW)


def test_a_revoked_record_is_not_confirmed(org: Org) -> None:
    state, who = activity(org.branch), member()
    participation_id = attended(state, who, START, END)
    then(state, revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                            reason="照片代签"),
                       org.organiser(None), NOW))
    with refused("participation_revoked", field="participation_id"):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                org.organiser(None), NOW)


def test_nothing_is_confirmed_in_a_cancelled_activity(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    then(state, [ActivityCancelled(activity_id=state.activity_id, reason="台风")])
    with refused("activity_cancelled"):
        confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                org.organiser(None), NOW)


def test_a_forgotten_check_out_closed_by_the_organiser_is_credited_to_the_scheduled_end(
        org: Org) -> None:
    state = activity(org.branch, hours_cap_minutes=100)
    participation_id = checked_in(state, member(), START + timedelta(minutes=30))
    then(state, close(org.tree, state, org.organiser(None), END + timedelta(hours=8)))
    assert state.participations[participation_id].auto_closed
    [event] = confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                      org.organiser(None), NOW)
    assert isinstance(event, AttendanceConfirmed)
    assert event.minutes == 90  # 09:30–11:00, under the cap, not the eight hours after


# --- correct -----------------------------------------------------------------------------


def confirmed(org: Org, minutes: int | None = None, **activity_fields: object
              ) -> tuple[ActivityState, MemberState, uuid.UUID]:
    """A record attended 09:00–11:00 and confirmed (by default for what the rules allow)."""
    state = activity(org.branch, **activity_fields)
    who = member()
    participation_id = attended(state, who, START, END)
    then(state, confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id,
                                                           minutes=minutes),
                        org.organiser(None), NOW))
    return state, who, participation_id


def test_a_correction_is_a_new_entry_with_the_previous_minutes_and_a_reason(org: Org) -> None:
    state, who, participation_id = confirmed(org, minutes=60)
    organiser = org.organiser(org.community)
    later = NOW + timedelta(days=2)
    assert correct(org.tree, state, CorrectParticipation(
        participation_id=participation_id, minutes=100, reason=" 漏记后半段 "),
        organiser, later) == [
        ParticipationCorrected(activity_id=state.activity_id, member_id=who.member_id,
                               participation_id=participation_id, minutes=100,
                               previous_minutes=60, reason="漏记后半段",
                               corrected_by=organiser.organiser_id, corrected_at=later)]


def test_a_correction_needs_a_reason(org: Org) -> None:
    state, _, participation_id = confirmed(org, minutes=60)
    with refused("reason_required", field="reason", status=422):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=90, reason=" "),
                org.organiser(None), NOW)


def test_a_correction_may_amend_the_times_and_stays_within_the_window(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    came, left = START + timedelta(minutes=20), END + timedelta(hours=1)
    [event] = correct(org.tree, state, CorrectParticipation(
        participation_id=participation_id, minutes=100, reason="签到时间有误",
        checked_in_at=came, checked_out_at=left), org.organiser(None), NOW + timedelta(hours=2))
    assert isinstance(event, ParticipationCorrected)
    assert (event.minutes, event.previous_minutes) == (100, 120)
    assert (event.checked_in_at, event.checked_out_at) == (came, left)
    then(state, [event])
    assert state.participations[participation_id].checked_in_at == came
    assert not event.beyond_presence
    # 09:20–11:00 within the window is 100 minutes: one more is beyond presence (flagged),
    # and more than the whole window (120) is refused.
    [beyond] = correct(org.tree, state, CorrectParticipation(
        participation_id=participation_id, minutes=101, reason="再改"), org.organiser(None), NOW)
    assert isinstance(beyond, ParticipationCorrected) and beyond.beyond_presence
    with refused("minutes_exceed_window", field="minutes", status=422):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=121, reason="再改"),
                org.organiser(None), NOW)


def test_a_correction_stays_under_the_cap(org: Org) -> None:
    state, _, participation_id = confirmed(org, hours_cap_minutes=60)
    with refused("minutes_exceed_window", field="minutes", status=422):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=61, reason="超时"),
                org.organiser(None), NOW)


def test_amended_times_must_stay_in_order(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    with refused("before_check_in", field="checked_out_at", status=422):
        correct(org.tree, state, CorrectParticipation(
            participation_id=participation_id, minutes=0, reason="时间有误",
            checked_out_at=START - timedelta(minutes=1)), org.organiser(None), NOW)


@pytest.mark.parametrize("name", ["checked_in_at", "checked_out_at"])
def test_amended_times_are_aware_and_not_in_the_future(org: Org, name: str) -> None:
    state, _, participation_id = confirmed(org)
    with refused("in_future", field=name, status=422):
        correct(org.tree, state, CorrectParticipation(
            participation_id=participation_id, minutes=10, reason="时间有误",
            **{name: NOW + timedelta(minutes=1)}), org.organiser(None), NOW)
    with refused("timezone_required", field=name, status=422):
        correct(org.tree, state, CorrectParticipation(
            participation_id=participation_id, minutes=10, reason="时间有误",
            **{name: START.replace(tzinfo=None)}), org.organiser(None), NOW)


def test_amended_times_cannot_overlap_the_member_s_other_activities(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    patrol = Busy(new_id(), "夜间巡逻", START - timedelta(hours=2), START + timedelta(minutes=10))
    with refused("overlapping_participation", field="checked_in_at"):
        correct(org.tree, state, CorrectParticipation(
            participation_id=participation_id, minutes=120, reason="签到时间有误",
            checked_in_at=START - timedelta(minutes=30)),
            org.organiser(None), NOW, busy=[patrol])
    # Correcting the minutes alone does not touch the times, so it is not checked again.
    assert correct(org.tree, state, CorrectParticipation(
        participation_id=participation_id, minutes=100, reason="中途离开"),
        org.organiser(None), NOW, busy=[patrol])


def test_amended_times_cannot_overlap_another_stay_in_the_same_activity(org: Org) -> None:
    state, who, participation_id = confirmed(org)
    # Normally impossible, but imported history can hold two stays: 09:00–09:30 is
    # corrected, 10:00–10:30 is another.
    then(state, [CheckedIn(activity_id=state.activity_id, member_id=who.member_id,
                           participation_id=new_id(), at=START + timedelta(hours=1),
                           method="import")])
    with refused("overlapping_participation", field="checked_out_at"):
        correct(org.tree, state, CorrectParticipation(
            participation_id=participation_id, minutes=30, reason="签退时间有误",
            checked_out_at=START + timedelta(minutes=90)), org.organiser(None), NOW)


def test_an_attendance_record_cannot_be_corrected_into_service_hours(org: Org) -> None:
    state, _, participation_id = confirmed(org, category="attendance", kind="meeting")
    with refused("attendance_no_hours", field="minutes"):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=30, reason="算时长"),
                org.organiser(None), NOW)


def test_a_correction_that_changes_nothing_is_refused(org: Org) -> None:
    state, _, participation_id = confirmed(org, minutes=60)
    with refused("unchanged", field="minutes"):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=60, reason="核对"),
                org.organiser(None), NOW)


def test_an_unconfirmed_record_is_confirmed_not_corrected(org: Org) -> None:
    state = activity(org.branch)
    participation_id = attended(state, member(), START, END)
    with refused("not_confirmed", field="participation_id"):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=10, reason="改"),
                org.organiser(None), NOW)


def test_only_an_organiser_covering_the_host_unit_corrects(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    with refused("forbidden", status=403):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=10, reason="改"),
                org.organiser(org.other_branch), NOW)


def test_corrections_chain_each_carrying_the_minutes_it_replaces(org: Org) -> None:
    state, _, participation_id = confirmed(org, minutes=30)
    for minutes, previous in ((60, 30), (45, 60)):
        [event] = correct(org.tree, state, CorrectParticipation(
            participation_id=participation_id, minutes=minutes, reason="复核"),
            org.organiser(None), NOW)
        assert isinstance(event, ParticipationCorrected)
        assert (event.minutes, event.previous_minutes) == (minutes, previous)
        then(state, [event])


def test_a_revoked_record_is_not_corrected(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    then(state, revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                            reason="代签"),
                       org.organiser(None), NOW))
    with refused("participation_revoked", field="participation_id"):
        correct(org.tree, state, CorrectParticipation(participation_id=participation_id,
                                                      minutes=10, reason="改"),
                org.organiser(None), NOW)


# --- revoke ------------------------------------------------------------------------------


def test_an_organiser_revokes_a_faked_record_with_a_reason(org: Org) -> None:
    state, who, participation_id = confirmed(org)
    organiser = org.organiser(org.street)
    assert revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                       reason=" 二维码照片代签 "),
                  organiser, NOW) == [
        ParticipationRevoked(activity_id=state.activity_id, member_id=who.member_id,
                             participation_id=participation_id, reason="二维码照片代签",
                             revoked_by=organiser.organiser_id, revoked_at=NOW)]


def test_a_revocation_needs_a_reason(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    with refused("reason_required", field="reason", status=422):
        revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                    reason=""), org.organiser(None), NOW)


def test_a_record_is_revoked_once(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    then(state, revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                            reason="代签"),
                       org.organiser(None), NOW))
    with refused("participation_revoked", field="participation_id"):
        revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                    reason="代签"), org.organiser(None), NOW)


def test_only_an_organiser_covering_the_host_unit_revokes(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    with refused("forbidden", status=403):
        revoke(org.tree, state, RevokeParticipation(participation_id=participation_id,
                                                    reason="代签"),
               org.organiser(org.group), NOW)


# --- request a correction ----------------------------------------------------------------


def test_a_member_asks_to_correct_their_own_record(org: Org) -> None:
    state, who, participation_id = confirmed(org, minutes=30)
    assert request_correction(state, RequestCorrection(
        participation_id=participation_id, member_id=who.member_id, reason=" 我待到了结束 ",
        requested_minutes=120), NOW) == [
        CorrectionRequested(activity_id=state.activity_id, member_id=who.member_id,
                            participation_id=participation_id, reason="我待到了结束",
                            requested_minutes=120, requested_at=NOW)]


def test_a_member_cannot_ask_about_someone_elses_record(org: Org) -> None:
    state, _, participation_id = confirmed(org)
    with refused("forbidden", status=403):
        request_correction(state, RequestCorrection(
            participation_id=participation_id, member_id=member().member_id, reason="改"), NOW)


def test_a_correction_request_needs_a_reason_and_sane_minutes(org: Org) -> None:
    state, who, participation_id = confirmed(org)
    with refused("reason_required", field="reason"):
        request_correction(state, RequestCorrection(
            participation_id=participation_id, member_id=who.member_id, reason=""), NOW)
    with refused("invalid_minutes", field="requested_minutes", status=422):
        request_correction(state, RequestCorrection(
            participation_id=participation_id, member_id=who.member_id, reason="改",
            requested_minutes=-5), NOW)


def test_a_correction_request_names_an_existing_record(org: Org) -> None:
    with refused("participation_not_found", status=404):
        request_correction(activity(org.branch), RequestCorrection(
            participation_id=new_id(), member_id=new_id(), reason="改"), NOW)
    with refused("activity_not_found", status=404):
        request_correction(None, RequestCorrection(
            participation_id=new_id(), member_id=new_id(), reason="改"), NOW)


# --- properties --------------------------------------------------------------------------

_day = sh(2026, 3, 31, 0, 0)
instants = st.integers(min_value=0, max_value=2 * 24 * 60 * 60).map(
    lambda seconds: _day + timedelta(seconds=seconds))


def _presence_within_window(came: datetime, left: datetime, starts: datetime,
                            ends: datetime) -> int:
    overlap = min(left, ends) - max(came, starts)
    return max(0, int(overlap.total_seconds()) // 60)


@given(starts=instants, length=st.integers(1, 24 * 60), came=instants,
       stay=st.integers(0, 48 * 60 * 60), cap=st.none() | st.integers(0, 24 * 60),
       asked=st.none() | st.integers(0, 3000))
def test_credited_minutes_never_exceed_presence_within_the_window_nor_the_cap(
        starts: datetime, length: int, came: datetime, stay: int, cap: int | None,
        asked: int | None) -> None:
    org = Org()
    ends = starts + timedelta(minutes=length)
    left = came + timedelta(seconds=stay)
    state = activity(org.branch, starts_at=starts, ends_at=ends, hours_cap_minutes=cap)
    who = member()
    # Recorded by an organiser afterwards, so any times can be entered.
    participation_id = new_id()
    then(state, [
        CheckedIn(activity_id=state.activity_id, member_id=who.member_id,
                  participation_id=participation_id, at=came, method="import"),
        CheckedOut(activity_id=state.activity_id, member_id=who.member_id,
                   participation_id=participation_id, at=left, method="import"),
    ])
    bound = _presence_within_window(came, left, starts, ends)
    if cap is not None:
        bound = min(bound, cap)
    try:
        [event] = confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id,
                                                             minutes=asked),
                          org.organiser(None), ends)
    except Refusal as refusal:
        assert asked is not None and asked > bound
        assert refusal.code == "minutes_exceed_presence"
        return
    assert isinstance(event, AttendanceConfirmed)
    # The default is exactly the bound; an explicit figure is kept as long as it fits.
    assert event.minutes == (bound if asked is None else asked)
    assert 0 <= event.minutes <= bound


def test_month_of_a_late_night_record_is_the_shanghai_month() -> None:
    # 23:30 on the last day of a month in Shanghai is 15:30 UTC the same day, and 00:30 on
    # the 1st is still the previous day in UTC: months follow Shanghai, not UTC.
    assert month_of(sh(2026, 3, 31, 23, 30)) == "2026-03"
    assert month_of(sh(2026, 4, 1, 0, 30)) == "2026-04"
    assert month_of(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == "2026-04"
    assert month_of(datetime(2026, 3, 31, 15, 59, tzinfo=UTC)) == "2026-03"
