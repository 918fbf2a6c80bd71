"""A member's correction request and its answers: accepted as asked, amended, refused; and
corrections beyond the time present (checked out too early, checked in late), which need a
reason, are flagged, and stop at the scheduled window (capped)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contract.events import CorrectionRequestRefused, ParticipationCorrected
from contract.problems import Refusal
from ledger.domain.activities import (
    AcceptCorrectionRequest,
    ActivityState,
    AmendCorrectionRequest,
    ConfirmAttendance,
    CorrectParticipation,
    RefuseCorrectionRequest,
    RequestCorrection,
    RevokeParticipation,
    accept_request,
    amend_request,
    confirm,
    correct,
    refuse_request,
    request_correction,
    revoke,
)
from ledger.domain.members import MemberState

from .builders import END, START, Org, activity, attended, member, refused, then

NOW = END + timedelta(hours=1)


@pytest.fixture
def org() -> Org:
    return Org()


def left_early(org: Org, **activity_fields: object
               ) -> tuple[ActivityState, MemberState, uuid.UUID]:
    """09:00–11:00 scheduled; the member checked out at 09:30 by mistake; confirmed 30 min."""
    state = activity(org.branch, **activity_fields)
    who = member()
    participation_id = attended(state, who, START, START + timedelta(minutes=30))
    then(state, confirm(org.tree, state, ConfirmAttendance(participation_id=participation_id),
                        org.organiser(None), NOW))
    return state, who, participation_id


def asked(state: ActivityState, who: MemberState, participation_id: uuid.UUID,
          minutes: int | None, reason: str = "扫码签退点错了，其实干到结束") -> None:
    then(state, request_correction(state, RequestCorrection(
        participation_id=participation_id, member_id=who.member_id, reason=reason,
        requested_minutes=minutes), NOW))


def test_accepting_credits_exactly_the_hours_asked_beyond_presence_flagged(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 120)
    organiser = org.organiser(org.branch)
    [event] = accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                             organiser, NOW)
    assert event == ParticipationCorrected(
        activity_id=state.activity_id, member_id=who.member_id, participation_id=pid,
        minutes=120, previous_minutes=30, reason="扫码签退点错了，其实干到结束",
        corrected_by=organiser.organiser_id, corrected_at=NOW, beyond_presence=True,
        answer="accepted")
    then(state, [event])
    p = state.participations[pid]
    assert p.minutes == 120 and "beyond_presence" in p.flags and not p.requests
    assert [(s.kind, s.minutes, s.by) for s in p.history] == [
        ("asked", 120, None), ("accepted", 120, organiser.organiser_id)]


def test_the_newest_open_request_is_the_one_accepted(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 60, "第一次")
    asked(state, who, pid, 90, "第二次：记错了")
    [event] = accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                             org.organiser(None), NOW)
    assert isinstance(event, ParticipationCorrected)
    assert (event.minutes, event.reason) == (90, "第二次：记错了")


def test_amending_credits_other_hours_with_the_organisers_reason(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 120)
    [event] = amend_request(org.tree, state, AmendCorrectionRequest(
        participation_id=pid, minutes=90, reason="组长证实10:30离开"), org.organiser(None), NOW)
    assert isinstance(event, ParticipationCorrected)
    assert (event.minutes, event.answer, event.beyond_presence) == (90, "amended", True)
    then(state, [event])
    assert [s.kind for s in state.participations[pid].history] == ["asked", "amended"]


def test_amending_within_presence_is_not_flagged_and_clears_an_earlier_flag(org: Org) -> None:
    state, who, pid = left_early(org)
    then(state, correct(org.tree, state, CorrectParticipation(
        participation_id=pid, minutes=100, reason="忘记签退"), org.organiser(None), NOW))
    assert "beyond_presence" in state.participations[pid].flags
    asked(state, who, pid, 20, "我只干了20分钟")
    then(state, amend_request(org.tree, state, AmendCorrectionRequest(
        participation_id=pid, minutes=25, reason="按签到记录"), org.organiser(None), NOW))
    assert "beyond_presence" not in state.participations[pid].flags


def test_refusing_answers_the_request_and_changes_nothing(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 120)
    organiser = org.organiser(None)
    [event] = refuse_request(org.tree, state, RefuseCorrectionRequest(
        participation_id=pid, reason=" 现场记录显示9:30离开 "), organiser, NOW)
    assert event == CorrectionRequestRefused(
        activity_id=state.activity_id, member_id=who.member_id, participation_id=pid,
        reason="现场记录显示9:30离开", refused_by=organiser.organiser_id, refused_at=NOW)
    then(state, [event])
    p = state.participations[pid]
    assert p.minutes == 30 and not p.requests
    assert [(s.kind, s.reason) for s in p.history][-1] == ("refused", "现场记录显示9:30离开")
    # Answered: nothing left to answer.
    with refused("no_open_request", field="participation_id"):
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       organiser, NOW)


def test_a_refusal_needs_a_reason(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 120)
    with refused("reason_required", field="reason", status=422):
        refuse_request(org.tree, state, RefuseCorrectionRequest(participation_id=pid,
                                                                reason="  "),
                       org.organiser(None), NOW)


def test_a_revocation_answers_open_requests_too(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 120)
    then(state, revoke(org.tree, state, RevokeParticipation(participation_id=pid,
                                                            reason="代签"),
                       org.organiser(None), NOW))
    assert not state.participations[pid].requests
    assert state.participations[pid].history[-1].kind == "revoked"


def test_only_the_host_units_organisers_answer(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 120)
    outsider = org.organiser(org.group)
    with refused("forbidden", status=403):
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       outsider, NOW)
    with refused("forbidden", status=403):
        refuse_request(org.tree, state, RefuseCorrectionRequest(participation_id=pid,
                                                                reason="不符"), outsider, NOW)


def test_a_request_without_hours_cannot_be_accepted_as_asked(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, None)
    with refused("no_hours_asked", field="participation_id"):
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       org.organiser(None), NOW)


def test_an_unconfirmed_record_is_confirmed_before_its_request_is_answered(org: Org) -> None:
    state, who = activity(org.branch), member()
    pid = attended(state, who, START, START + timedelta(minutes=30))
    asked(state, who, pid, 120)
    with refused("not_confirmed", field="participation_id"):
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       org.organiser(None), NOW)
    # A confirmation answers it (the catalogue says "confirmed"); the history shows it.
    then(state, confirm(org.tree, state, ConfirmAttendance(participation_id=pid),
                        org.organiser(None), NOW))
    assert [s.kind for s in state.participations[pid].history] == ["asked", "confirmed"]


def test_asking_for_what_is_credited_already_is_refused_not_recorded(org: Org) -> None:
    state, who, pid = left_early(org)
    asked(state, who, pid, 30)
    with refused("unchanged", field="minutes"):
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       org.organiser(None), NOW)


@pytest.mark.parametrize(("fields", "most"), [
    ({}, 120),                           # the whole window
    ({"hours_cap_minutes": 90}, 90),     # the activity's cap
])
def test_no_correction_credits_more_than_the_window_capped(org: Org, fields: dict[str, int],
                                                           most: int) -> None:
    state, who, pid = left_early(org, **fields)
    [event] = correct(org.tree, state, CorrectParticipation(
        participation_id=pid, minutes=most, reason="忘记签退"), org.organiser(None), NOW)
    assert isinstance(event, ParticipationCorrected) and event.beyond_presence
    asked(state, who, pid, most + 1)
    with pytest.raises(Refusal) as refusal:
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       org.organiser(None), NOW)
    assert (refusal.value.code, refusal.value.field) == ("minutes_exceed_window", "minutes")
    # Said in hours, as the pages ask for hours.
    assert f"最多 {most / 60:g} 小时" in refusal.value.zh


def test_attendance_activities_credit_nothing_even_through_a_request(org: Org) -> None:
    state, who = activity(org.branch, kind="meeting", category="attendance"), member()
    pid = attended(state, who, START, END)
    then(state, confirm(org.tree, state, ConfirmAttendance(participation_id=pid),
                        org.organiser(None), NOW))
    asked(state, who, pid, 60)
    with refused("attendance_no_hours", field="minutes", status=422):
        accept_request(org.tree, state, AcceptCorrectionRequest(participation_id=pid),
                       org.organiser(None), NOW)


def test_confirming_more_than_presence_says_hours_and_how_to_credit_more(org: Org) -> None:
    state = activity(org.branch)
    pid = attended(state, member(), START, START + timedelta(minutes=30))
    with pytest.raises(Refusal) as refusal:
        confirm(org.tree, state, ConfirmAttendance(participation_id=pid, minutes=60),
                org.organiser(None), NOW)
    assert refusal.value.code == "minutes_exceed_presence"
    assert "最多 0.5 小时" in refusal.value.zh and "分钟" not in refusal.value.zh
