"""Checking in and out: only inside the window (early within the grace, flagged), one open
check-in per member, no overlap with the member's other activities, capacity, and the
flags a person reviews (early, late, shared device)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contract.events import (
    ActivityCancelled,
    ActivityClosed,
    CheckedIn,
    CheckedOut,
    ParticipationRevoked,
)
from contract.problems import Refusal
from ledger.domain.activities import (
    Busy,
    CheckIn,
    CheckOut,
    busy_spans,
    check_in,
    check_out,
    close,
)

from .builders import (
    END,
    GRACE,
    START,
    Org,
    activity,
    attended,
    checked_in,
    checked_out,
    member,
    new_id,
    refused,
    sh,
    then,
)


@pytest.fixture
def org() -> Org:
    return Org()


def test_a_member_checks_in_now_by_qr_with_the_phone_clock_kept_for_review(org: Org) -> None:
    state, who, participation_id = activity(org.branch), member(), new_id()
    now, phone = START + timedelta(minutes=3), START + timedelta(minutes=9)
    events = check_in(state, who, CheckIn(member_id=who.member_id, client_time=phone,
                                          device="d1"),
                      participation_id, now=now, grace=GRACE, busy=[])
    assert events == [CheckedIn(activity_id=state.activity_id, member_id=who.member_id,
                                participation_id=participation_id, at=now, method="qr",
                                client_time=phone, device="d1", flags=[])]


def test_an_early_check_in_within_the_grace_is_accepted_and_flagged_early(org: Org) -> None:
    state, who = activity(org.branch), member()
    [event] = check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                       now=START - GRACE, grace=GRACE, busy=[])
    assert isinstance(event, CheckedIn)
    assert (event.at, event.flags) == (START - GRACE, ["early"])


def test_a_check_in_before_the_grace_is_refused(org: Org) -> None:
    state, who = activity(org.branch), member()
    with refused("not_started", field="at"):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                 now=START - GRACE - timedelta(seconds=1), grace=GRACE, busy=[])


def test_the_grace_is_configurable(org: Org) -> None:
    state, who = activity(org.branch), member()
    with refused("not_started"):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                 now=START - timedelta(minutes=1), grace=timedelta(0), busy=[])


def test_a_check_in_after_the_scheduled_end_is_refused(org: Org) -> None:
    state, who = activity(org.branch), member()
    with refused("already_ended", field="at"):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                 now=END + timedelta(seconds=1), grace=GRACE, busy=[])


@pytest.mark.parametrize(("ending", "code"), [
    (ActivityCancelled(activity_id=new_id(), reason="台风"), "activity_cancelled"),
    (ActivityClosed(activity_id=new_id(), closed_at=START), "activity_closed"),
])
def test_no_check_in_to_a_cancelled_or_closed_activity(org: Org, ending: object,
                                                       code: str) -> None:
    state, who = activity(org.branch), member()
    then(state, [ending])  # type: ignore[list-item]
    with refused(code):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(), now=START,
                 grace=GRACE, busy=[])


def test_no_check_in_to_an_unknown_activity() -> None:
    who = member()
    with refused("activity_not_found", status=404):
        check_in(None, who, CheckIn(member_id=who.member_id), new_id(), now=START,
                 grace=GRACE, busy=[])


def test_the_member_must_exist(org: Org) -> None:
    with refused("member_not_found", field="member_id", status=404):
        check_in(activity(org.branch), None, CheckIn(member_id=new_id()), new_id(),
                 now=START, grace=GRACE, busy=[])


def test_the_member_must_be_active(org: Org) -> None:
    gone = member(left_on=START.date())
    with refused("member_inactive", field="member_id"):
        check_in(activity(org.branch), gone, CheckIn(member_id=gone.member_id), new_id(),
                 now=START, grace=GRACE, busy=[])


def test_one_open_check_in_per_member_per_activity(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    with refused("already_checked_in", field="member_id"):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                 now=START + timedelta(minutes=5), grace=GRACE, busy=[])


def test_after_checking_out_a_member_may_check_in_again(org: Org) -> None:
    state, who = activity(org.branch), member()
    attended(state, who, START, START + timedelta(minutes=20))
    events = check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                      now=START + timedelta(minutes=40), grace=GRACE, busy=[])
    assert [type(e) for e in events] == [CheckedIn]


# --- capacity ----------------------------------------------------------------------------


def test_a_full_activity_refuses_a_new_participant(org: Org) -> None:
    state = activity(org.branch, capacity=2)
    checked_in(state, member(), START)
    attended(state, member(), START, START + timedelta(minutes=5))
    newcomer = member()
    with refused("activity_full"):
        check_in(state, newcomer, CheckIn(member_id=newcomer.member_id), new_id(),
                 now=START + timedelta(minutes=10), grace=GRACE, busy=[])


def test_a_participant_of_a_full_activity_may_come_back(org: Org) -> None:
    state, regular = activity(org.branch, capacity=1), member()
    attended(state, regular, START, START + timedelta(minutes=5))
    assert check_in(state, regular, CheckIn(member_id=regular.member_id), new_id(),
                    now=START + timedelta(minutes=10), grace=GRACE, busy=[])


def test_a_revoked_participant_frees_a_place(org: Org) -> None:
    state, cheat, honest = activity(org.branch, capacity=1), member(), member()
    participation_id = checked_in(state, cheat, START)
    then(state, [ParticipationRevoked(activity_id=state.activity_id,
                                      member_id=cheat.member_id,
                                      participation_id=participation_id, reason="代签",
                                      revoked_by=new_id(), revoked_at=START)])
    assert check_in(state, honest, CheckIn(member_id=honest.member_id), new_id(),
                    now=START + timedelta(minutes=1), grace=GRACE, busy=[])


# --- overlap -----------------------------------------------------------------------------


def test_a_member_busy_in_another_activity_is_refused(org: Org) -> None:
    state, who = activity(org.branch), member()
    elsewhere = Busy(new_id(), "老党员先锋队走访", START - timedelta(hours=1),
                     START + timedelta(minutes=30))
    with refused("overlapping_participation", field="member_id"):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(),
                 now=START + timedelta(minutes=29), grace=GRACE, busy=[elsewhere])


def test_a_member_who_started_elsewhere_this_very_moment_is_busy(org: Org) -> None:
    state, who = activity(org.branch), member()
    elsewhere = Busy(new_id(), "走访", START, END)
    with refused("overlapping_participation"):
        check_in(state, who, CheckIn(member_id=who.member_id), new_id(), now=START,
                 grace=GRACE, busy=[elsewhere])


def test_a_member_may_check_in_the_moment_the_other_activity_ended(org: Org) -> None:
    state, who = activity(org.branch), member()
    elsewhere = Busy(new_id(), "走访", START - timedelta(hours=1), START)
    assert check_in(state, who, CheckIn(member_id=who.member_id), new_id(), now=START,
                    grace=GRACE, busy=[elsewhere])


def test_an_open_check_in_elsewhere_keeps_the_member_busy_until_its_scheduled_end(
        org: Org) -> None:
    first, second, who = activity(org.branch), activity(org.team), member()
    checked_in(first, who, START)
    busy = busy_spans(first, who.member_id)
    assert busy == [Busy(first.activity_id, first.title, START, END)]
    with refused("overlapping_participation"):
        check_in(second, who, CheckIn(member_id=who.member_id), new_id(),
                 now=END - timedelta(minutes=1), grace=GRACE, busy=busy)


def test_busy_spans_leave_out_revoked_participation_and_cancelled_activities(
        org: Org) -> None:
    state, who = activity(org.branch), member()
    participation_id = attended(state, who, START, START + timedelta(minutes=30))
    kept = checked_in(state, who, START + timedelta(minutes=40))
    assert busy_spans(state, who.member_id) == [
        Busy(state.activity_id, state.title, START, START + timedelta(minutes=30)),
        Busy(state.activity_id, state.title, START + timedelta(minutes=40), END)]
    then(state, [ParticipationRevoked(activity_id=state.activity_id, member_id=who.member_id,
                                      participation_id=participation_id, reason="误签",
                                      revoked_by=new_id(), revoked_at=END)])
    assert [b.start for b in busy_spans(state, who.member_id)] == [
        state.participations[kept].checked_in_at]
    then(state, [ActivityCancelled(activity_id=state.activity_id, reason="台风")])
    assert busy_spans(state, who.member_id) == []


def test_a_back_filled_check_in_inside_an_earlier_stay_in_the_same_activity_is_refused(
        org: Org) -> None:
    # Otherwise the same 30 minutes would be credited twice.
    state, who = activity(org.branch), member()
    attended(state, who, START, START + timedelta(minutes=30))
    organiser = org.organiser(org.branch)
    with refused("overlapping_participation", field="member_id"):
        check_in(state, who, CheckIn(member_id=who.member_id, method="organiser",
                                     at=START + timedelta(minutes=10)),
                 new_id(), now=END, grace=GRACE, busy=[], recorded_by=organiser,
                 tree=org.tree)


def test_staying_past_the_scheduled_end_keeps_the_member_busy_nowhere(org: Org) -> None:
    # Time after the end is credited nowhere, so the member may start the next activity
    # then, even if they check out of the first one later.
    first, who = activity(org.branch), member()
    second = activity(org.team, starts_at=END, ends_at=END + timedelta(hours=1))
    attended(first, who, START, END + timedelta(minutes=30))
    busy = busy_spans(first, who.member_id)
    assert busy == [Busy(first.activity_id, first.title, START, END)]
    assert check_in(second, who, CheckIn(member_id=who.member_id), new_id(),
                    now=END + timedelta(minutes=10), grace=GRACE, busy=busy)


def test_a_late_check_out_after_starting_the_next_activity_is_accepted(org: Org) -> None:
    first, who = activity(org.branch), member()
    second = activity(org.team, starts_at=END, ends_at=END + timedelta(hours=1))
    checked_in(first, who, START)
    checked_in(second, who, END + timedelta(minutes=5))
    [event] = check_out(first, CheckOut(member_id=who.member_id),
                        now=END + timedelta(minutes=20),
                        busy=busy_spans(second, who.member_id))
    assert isinstance(event, CheckedOut)
    assert event.flags == ["late"]


def test_a_check_out_that_would_straddle_another_activity_is_refused(org: Org) -> None:
    # An organiser back-fills a check-in at 09:00 for someone who was at a home visit
    # 10:00–10:30; checking them out at 11:00 would credit that half hour twice.
    state, who = activity(org.branch), member()
    visit = Busy(new_id(), "走访独居老人", START + timedelta(hours=1),
                 START + timedelta(minutes=90))
    organiser = org.organiser(org.branch)
    then(state, check_in(state, who, CheckIn(member_id=who.member_id, method="organiser",
                                             at=START),
                         new_id(), now=END, grace=GRACE, busy=[visit], recorded_by=organiser,
                         tree=org.tree))
    with refused("overlapping_participation", field="at"):
        check_out(state, CheckOut(member_id=who.member_id, method="organiser", at=END),
                  now=END, recorded_by=organiser, tree=org.tree, busy=[visit])
    # Checked out when the visit began, the record stands.
    assert check_out(state, CheckOut(member_id=who.member_id, method="organiser",
                                     at=visit.start),
                     now=END, recorded_by=organiser, tree=org.tree, busy=[visit])


def test_a_check_out_cannot_straddle_an_earlier_stay_in_the_same_activity(org: Org) -> None:
    state, who = activity(org.branch), member()
    attended(state, who, START + timedelta(minutes=40), START + timedelta(minutes=60))
    organiser = org.organiser(org.branch)
    then(state, check_in(state, who, CheckIn(member_id=who.member_id, method="organiser",
                                             at=START),
                         new_id(), now=END, grace=GRACE, busy=[], recorded_by=organiser,
                         tree=org.tree))
    with refused("overlapping_participation", field="at"):
        check_out(state, CheckOut(member_id=who.member_id, method="organiser",
                                  at=START + timedelta(minutes=50)),
                  now=END, recorded_by=organiser, tree=org.tree)


# --- organisers recording for members ----------------------------------------------------


def test_an_organiser_back_fills_a_check_in_time(org: Org) -> None:
    state, who, participation_id = activity(org.branch), member(), new_id()
    at = START + timedelta(minutes=7)
    events = check_in(state, who, CheckIn(member_id=who.member_id, method="organiser", at=at),
                      participation_id, now=END, grace=GRACE, busy=[],
                      recorded_by=org.organiser(org.community), tree=org.tree)
    assert events == [CheckedIn(activity_id=state.activity_id, member_id=who.member_id,
                                participation_id=participation_id, at=at,
                                method="organiser", flags=[])]


def test_a_member_cannot_choose_the_check_in_time(org: Org) -> None:
    state, who = activity(org.branch), member()
    with refused("time_not_allowed", field="at", status=422):
        check_in(state, who, CheckIn(member_id=who.member_id, at=START), new_id(),
                 now=START + timedelta(minutes=30), grace=GRACE, busy=[])


@pytest.mark.parametrize("method", ["organiser", "import"])
def test_only_an_organiser_checks_members_in_by_hand_or_import(org: Org, method: str) -> None:
    state, who = activity(org.branch), member()
    with refused("forbidden", status=403):
        check_in(state, who, CheckIn(member_id=who.member_id, method=method), new_id(),  # type: ignore[arg-type]
                 now=START, grace=GRACE, busy=[])


def test_an_organiser_outside_the_host_unit_cannot_check_members_in(org: Org) -> None:
    state, who = activity(org.branch), member()
    with refused("forbidden", status=403):
        check_in(state, who, CheckIn(member_id=who.member_id, method="organiser"), new_id(),
                 now=START, grace=GRACE, busy=[],
                 recorded_by=org.organiser(org.other_branch), tree=org.tree)


def test_a_recorded_check_in_cannot_be_in_the_future(org: Org) -> None:
    state, who = activity(org.branch), member()
    with refused("in_future", field="at", status=422):
        check_in(state, who, CheckIn(member_id=who.member_id, method="organiser",
                                     at=START + timedelta(minutes=31)),
                 new_id(), now=START + timedelta(minutes=30), grace=GRACE, busy=[],
                 recorded_by=org.organiser(org.branch), tree=org.tree)


@pytest.mark.parametrize("field", ["at", "client_time"])
def test_times_without_a_timezone_are_refused(org: Org, field: str) -> None:
    state, who = activity(org.branch), member()
    naive = (START + timedelta(minutes=5)).replace(tzinfo=None)
    with refused("timezone_required", field=field, status=422):
        check_in(state, who, CheckIn(member_id=who.member_id, method="organiser",
                                     **{field: naive}),
                 new_id(), now=END, grace=GRACE, busy=[],
                 recorded_by=org.organiser(org.branch), tree=org.tree)


def test_the_tree_is_required_to_authorise_a_recorder(org: Org) -> None:
    state, who = activity(org.branch), member()
    with pytest.raises(ValueError, match="tree"):
        check_in(state, who, CheckIn(member_id=who.member_id, method="organiser"), new_id(),
                 now=START, grace=GRACE, busy=[], recorded_by=org.organiser(None))


# --- shared devices ----------------------------------------------------------------------


def test_a_second_member_on_the_same_phone_is_flagged_shared_device(org: Org) -> None:
    state, first, second = activity(org.branch), member(), member()
    checked_in(state, first, START, device="phone-hash-1")
    [event] = check_in(state, second, CheckIn(member_id=second.member_id,
                                              device="phone-hash-1"),
                       new_id(), now=START + timedelta(minutes=1), grace=GRACE, busy=[])
    assert isinstance(event, CheckedIn)
    assert event.flags == ["shared_device"]


def test_the_same_member_on_the_same_phone_is_not_flagged(org: Org) -> None:
    state, who = activity(org.branch), member()
    attended(state, who, START, START + timedelta(minutes=5))
    state.participations[next(iter(state.participations))].device = "phone-hash-1"
    [event] = check_in(state, who, CheckIn(member_id=who.member_id, device="phone-hash-1"),
                       new_id(), now=START + timedelta(minutes=6), grace=GRACE, busy=[])
    assert isinstance(event, CheckedIn)
    assert event.flags == []


def test_an_early_check_in_on_a_shared_phone_carries_both_flags(org: Org) -> None:
    state, first, second = activity(org.branch), member(), member()
    checked_in(state, first, START - GRACE, device="d")
    [event] = check_in(state, second, CheckIn(member_id=second.member_id, device="d"),
                       new_id(), now=START - GRACE, grace=GRACE, busy=[])
    assert isinstance(event, CheckedIn)
    assert event.flags == ["early", "shared_device"]


# --- check-out ---------------------------------------------------------------------------


def test_a_member_checks_out_of_the_open_check_in(org: Org) -> None:
    state, who = activity(org.branch), member()
    participation_id = checked_in(state, who, START)
    now = START + timedelta(minutes=75)
    assert check_out(state, CheckOut(member_id=who.member_id), now=now) == [
        CheckedOut(activity_id=state.activity_id, member_id=who.member_id,
                   participation_id=participation_id, at=now, method="qr", flags=[])]


def test_a_check_out_after_the_scheduled_end_is_flagged_late(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    [event] = check_out(state, CheckOut(member_id=who.member_id),
                        now=END + timedelta(minutes=1))
    assert isinstance(event, CheckedOut)
    assert event.flags == ["late"]


def test_the_state_keeps_the_flags_for_review(org: Org) -> None:
    """The review list reads them from the state, never from the events."""
    state, first, second, third = activity(org.branch), member(), member(), member()
    early = checked_in(state, first, START - GRACE, device="d")
    shared = checked_in(state, second, START, device="d")
    left_late = checked_in(state, third, START)
    checked_out(state, third, END + timedelta(minutes=1))
    then(state, close(org.tree, state, org.organiser(None), END + timedelta(minutes=2)))
    assert {p: state.participations[p].flags for p in (early, shared, left_late)} == {
        early: {"early", "auto_closed"}, shared: {"shared_device", "auto_closed"},
        left_late: {"late"}}


def test_no_check_out_without_a_check_in(org: Org) -> None:
    with refused("not_checked_in", field="member_id"):
        check_out(activity(org.branch), CheckOut(member_id=member().member_id), now=END)


def test_no_second_check_out(org: Org) -> None:
    state, who = activity(org.branch), member()
    attended(state, who, START, END)
    with refused("not_checked_in", field="member_id"):
        check_out(state, CheckOut(member_id=who.member_id), now=END)


def test_a_check_out_comes_after_the_check_in(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START + timedelta(minutes=30))
    with refused("before_check_in", field="at", status=422):
        check_out(state, CheckOut(member_id=who.member_id, method="organiser",
                                  at=START + timedelta(minutes=29)),
                  now=END, recorded_by=org.organiser(org.branch), tree=org.tree)


def test_an_organiser_back_fills_a_check_out(org: Org) -> None:
    state, who = activity(org.branch), member()
    participation_id = checked_in(state, who, START)
    at = START + timedelta(minutes=45)
    assert check_out(state, CheckOut(member_id=who.member_id, method="organiser", at=at),
                     now=END + timedelta(days=1), recorded_by=org.organiser(org.district),
                     tree=org.tree) == [
        CheckedOut(activity_id=state.activity_id, member_id=who.member_id,
                   participation_id=participation_id, at=at, method="organiser", flags=[])]


def test_a_member_cannot_choose_the_check_out_time(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    with refused("time_not_allowed", field="at", status=422):
        check_out(state, CheckOut(member_id=who.member_id, at=END), now=END + timedelta(hours=5))


def test_a_recorded_check_out_cannot_be_in_the_future(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    with refused("in_future", field="at", status=422):
        check_out(state, CheckOut(member_id=who.member_id, method="organiser", at=END),
                  now=START + timedelta(minutes=10), recorded_by=org.organiser(org.branch),
                  tree=org.tree)


@pytest.mark.parametrize("method", ["organiser", "import"])
def test_only_an_organiser_checks_members_out_by_hand(org: Org, method: str) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    with refused("forbidden", status=403):
        check_out(state, CheckOut(member_id=who.member_id, method=method), now=END)  # type: ignore[arg-type]


def test_an_organiser_outside_the_host_unit_cannot_check_members_out(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    with refused("forbidden", status=403):
        check_out(state, CheckOut(member_id=who.member_id, method="organiser", at=END),
                  now=END, recorded_by=org.organiser(org.group), tree=org.tree)


def test_no_check_out_from_a_cancelled_activity(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    then(state, [ActivityCancelled(activity_id=state.activity_id, reason="台风")])
    with refused("activity_cancelled"):
        check_out(state, CheckOut(member_id=who.member_id), now=END)


def test_no_check_out_from_a_closed_activity(org: Org) -> None:
    state, who = activity(org.branch), member()
    checked_in(state, who, START)
    then(state, close(org.tree, state, org.organiser(None), END))
    with refused("activity_closed"):
        check_out(state, CheckOut(member_id=who.member_id), now=END + timedelta(minutes=5))


def test_check_in_and_out_across_a_month_end_in_shanghai_time(org: Org) -> None:
    # 23:30 on 31 March in Shanghai is still 15:30 UTC on 31 March; the night patrol ends
    # at 00:30 on 1 April. The window is compared as instants, never as wall-clock dates.
    night = activity(org.branch, kind="patrol", starts_at=sh(2026, 3, 31, 23, 30),
                     ends_at=sh(2026, 4, 1, 0, 30))
    who = member()
    checked_in(night, who, sh(2026, 3, 31, 23, 20))
    checked_out(night, who, sh(2026, 4, 1, 0, 40))
    [participation] = night.participations.values()
    assert night.creditable_minutes(participation.checked_in_at,
                                    participation.checked_out_at) == 60  # type: ignore[arg-type]


# --- property: whatever members and organisers record, no minute is credited twice --------

# Each step: check in or out of activity 0 or 1, some seconds after the previous step, either
# live ("in", "out") or back-filled by an organiser some minutes in the past ("in@", "out@").
_steps = st.lists(st.tuples(st.sampled_from(["in", "out", "in@", "out@"]),
                            st.sampled_from([0, 1]), st.integers(0, 20 * 60),
                            st.integers(0, 120)), max_size=25)


@given(offsets=st.tuples(st.integers(-60, 60), st.integers(-60, 60)),
       lengths=st.tuples(st.integers(1, 180), st.integers(1, 180)), steps=_steps)
@example(offsets=(0, 0), lengths=(120, 120),
         steps=[("in", 0, 3600, 0), ("in", 1, 60, 0), ("out", 0, 600, 0), ("out", 1, 600, 0)])
@example(offsets=(0, 0), lengths=(120, 120),  # back-filled 09:00 in 0, live 09:30 in 1
         steps=[("in", 1, 5400, 0), ("out", 1, 1800, 0), ("in@", 0, 60, 61)])
@example(offsets=(0, 0), lengths=(120, 120),  # ...then checked out of 0 live, at 09:56
         steps=[("in", 1, 5400, 0), ("out", 1, 1800, 0), ("in@", 0, 60, 61),
                ("out", 0, 600, 0)])
def test_check_ins_and_outs_never_credit_the_same_minute_twice(
        offsets: tuple[int, int], lengths: tuple[int, int],
        steps: list[tuple[str, int, int, int]]) -> None:
    org, who = Org(), member()
    organiser = org.organiser(org.branch)
    pair = [activity(org.branch, starts_at=START + timedelta(minutes=offset),
                     ends_at=START + timedelta(minutes=offset + length))
            for offset, length in zip(offsets, lengths, strict=True)]
    now = START - timedelta(minutes=75)
    for action, index, seconds_later, minutes_back in steps:
        now += timedelta(seconds=seconds_later)
        here, there = pair[index], pair[1 - index]
        busy = busy_spans(there, who.member_id)
        by_hand = {}
        if action.endswith("@"):
            by_hand = {"recorded_by": organiser, "tree": org.tree}
        at = now - timedelta(minutes=minutes_back) if by_hand else None
        method = "organiser" if by_hand else "qr"
        try:
            if action.startswith("in"):
                decided = check_in(here, who, CheckIn(member_id=who.member_id, method=method,
                                                      at=at),
                                   new_id(), now=now, grace=GRACE, busy=busy, **by_hand)
            else:
                decided = check_out(here, CheckOut(member_id=who.member_id, method=method,
                                                   at=at),
                                    now=now, busy=busy, **by_hand)
        except Refusal:
            continue
        then(here, decided)
    for state, other in (pair, pair[::-1]):
        then(state, close(org.tree, state, organiser, now + timedelta(days=1),
                          busy={who.member_id: busy_spans(other, who.member_id)}))
    credited = sorted(
        (max(p.checked_in_at, state.starts_at), min(p.checked_out_at, state.ends_at))  # type: ignore[type-var]
        for state in pair for p in state.participations.values()
        if min(p.checked_out_at, state.ends_at) > max(p.checked_in_at, state.starts_at)  # type: ignore[type-var]
    )
    for (_, earlier_end), (later_start, _) in itertools.pairwise(credited):
        assert earlier_end <= later_start


def test_a_check_in_with_the_poster_alone_is_flagged_poster_only(org: Org) -> None:
    state, poster, live = activity(org.branch), member(), member()
    [flagged] = check_in(state, poster, CheckIn(member_id=poster.member_id, poster_only=True),
                         new_id(), now=START, grace=GRACE, busy=[])
    [plain] = check_in(state, live, CheckIn(member_id=live.member_id), new_id(), now=START,
                       grace=GRACE, busy=[])
    assert isinstance(flagged, CheckedIn) and isinstance(plain, CheckedIn)
    assert (flagged.flags, plain.flags) == (["poster_only"], [])
