"""The correction flow through the use cases, on the in-memory fakes: the member asks, an
organiser of the host unit accepts as asked, amends or refuses, once (a retry answers the
same); outsiders and the member cannot answer; a bulk confirmation names its bad row."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contract.events import CorrectionRequestRefused, ParticipationCorrected, decode_data
from contract.problems import Refusal
from ledger.domain import activities
from ledger.handlers import Actor, Confirmation, ConfirmMany
from tests.unit.handlers.conftest import TENANT, World


async def _left_early(world: World) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, Actor]:
    """A member checks out 30 minutes into a 2-hour activity; confirmed; returns ids and
    the member's own actor."""
    member = await world.member("M-1", world.branch)
    activity = await world.activity(world.branch)
    themself = Actor(tenant_id=TENANT, name="member", role="member", member_id=member)
    checked_in = await world.ledger.activities.check_in(
        themself, activity, activities.CheckIn(member_id=member))
    assert checked_in.created_id is not None
    world.clock.now += timedelta(minutes=30)
    await world.ledger.activities.check_out(themself, activity,
                                            activities.CheckOut(member_id=member))
    world.clock.now += timedelta(hours=2)
    await world.ledger.activities.manage(world.organiser(world.branch), activity,
                                         activities.ConfirmAttendance(
                                             participation_id=checked_in.created_id))
    return activity, checked_in.created_id, member, themself


async def _events(world: World, activity: uuid.UUID) -> list[object]:
    stored = await world.store.read_stream(TENANT, activities.stream_id(activity))
    return [decode_data(e.type, e.schema_version, e.data) for e in stored]


async def _ask(world: World, activity: uuid.UUID, pid: uuid.UUID, member: uuid.UUID,
               themself: Actor, minutes: int | None = 120) -> None:
    await world.ledger.activities.request_correction(themself, activity,
                                                     activities.RequestCorrection(
        participation_id=pid, member_id=member, reason="签退点早了", requested_minutes=minutes))


async def test_accept_as_asked_once_even_when_retried(world: World) -> None:
    activity, pid, member, themself = await _left_early(world)
    await _ask(world, activity, pid, member, themself)
    organiser = world.organiser(world.branch)
    command = activities.AcceptCorrectionRequest(command_id=uuid.uuid4(), participation_id=pid)
    first = await world.ledger.activities.manage(organiser, activity, command)
    again = await world.ledger.activities.manage(organiser, activity, command)
    assert again.replayed and again.event_ids == first.event_ids
    corrected = [e for e in await _events(world, activity)
                 if isinstance(e, ParticipationCorrected)]
    assert len(corrected) == 1
    [event] = corrected
    assert (event.minutes, event.previous_minutes, event.answer, event.beyond_presence,
            event.reason, event.corrected_by) == (120, 30, "accepted", True, "签退点早了",
                                                  organiser.organiser_id)


async def test_refuse_appends_a_refusal_and_leaves_the_minutes(world: World) -> None:
    activity, pid, member, themself = await _left_early(world)
    await _ask(world, activity, pid, member, themself)
    await world.ledger.activities.manage(world.organiser(world.community), activity,
                                         activities.RefuseCorrectionRequest(
                                             participation_id=pid, reason="现场记录为准"))
    events = await _events(world, activity)
    assert isinstance(events[-1], CorrectionRequestRefused)
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None and state.participations[pid].minutes == 30
    assert [s.kind for s in state.participations[pid].history] == ["asked", "refused"]


async def test_amend_with_other_hours(world: World) -> None:
    activity, pid, member, themself = await _left_early(world)
    await _ask(world, activity, pid, member, themself, minutes=None)
    await world.ledger.activities.manage(world.organiser(world.branch), activity,
                                         activities.AmendCorrectionRequest(
                                             participation_id=pid, minutes=75,
                                             reason="组长证实"))
    [event] = [e for e in await _events(world, activity)
               if isinstance(e, ParticipationCorrected)]
    assert (event.minutes, event.answer) == (75, "amended")


@pytest.mark.parametrize("who", ["member", "other branch", "client"])
async def test_only_an_organiser_of_the_host_unit_answers(world: World, who: str) -> None:
    activity, pid, member, themself = await _left_early(world)
    await _ask(world, activity, pid, member, themself)
    actor = {"member": themself, "other branch": world.organiser(world.other_branch),
             "client": world.client(world.branch)}[who]
    before = len(await _events(world, activity))
    with pytest.raises(Refusal) as refused:
        await world.ledger.activities.manage(actor, activity,
                                             activities.AcceptCorrectionRequest(
                                                 participation_id=pid))
    assert refused.value.status == 403
    assert len(await _events(world, activity)) == before


async def test_a_bulk_confirmation_names_its_bad_row_and_records_none(world: World) -> None:
    activity = await world.activity(world.branch)
    pids = []
    for number in ("M-1", "M-2"):
        member = await world.member(number, world.branch)
        outcome = await world.ledger.activities.check_in(
            world.admin, activity, activities.CheckIn(member_id=member))
        assert outcome.created_id is not None
        pids.append(outcome.created_id)
    world.clock.now += timedelta(minutes=40)
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None
    for p in list(state.participations.values()):
        await world.ledger.activities.check_out(world.admin, activity,
                                                activities.CheckOut(member_id=p.member_id))
    before = len(await _events(world, activity))
    with pytest.raises(Refusal) as refused:
        await world.ledger.activities.confirm_many(
            world.organiser(world.branch), activity, ConfirmMany(confirmations=[
                Confirmation(participation_id=pids[0]),
                Confirmation(participation_id=pids[1], minutes=90)]))
    assert refused.value.code == "minutes_exceed_presence"
    assert refused.value.field == "confirmations[1].minutes"
    assert refused.value.extra["participation_id"] == str(pids[1])
    assert len(await _events(world, activity)) == before
