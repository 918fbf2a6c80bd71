"""The command executor on the in-memory store: idempotency, the per-stream lock, the
optimistic retry, and decisions that do no I/O."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from contract.problems import Refusal
from ledger.adapters.event_store import EventIdConflict, Metadata, NewEvent
from ledger.domain import activities
from ledger.handlers import Ledger, TooBusy
from ledger.handlers.executor import ATTEMPTS
from tests.unit.handlers.conftest import START, TENANT, World


async def test_a_retried_command_answers_the_original_and_appends_nothing(
        world: World) -> None:
    member = await world.member("M-1", world.branch)
    activity = await world.activity(world.branch)
    command = activities.CheckIn(command_id=uuid.uuid4(), member_id=member)
    first = await world.ledger.activities.check_in(world.admin, activity, command)
    stored = len(world.store.events)
    again = await world.ledger.activities.check_in(world.admin, activity, command)
    assert again.replayed and not first.replayed
    assert (again.positions, again.created_id) == (first.positions, first.created_id)
    assert len(world.store.events) == stored


async def test_a_command_id_reused_for_another_command_is_a_conflict(world: World) -> None:
    member = await world.member("M-1", world.branch)
    activity = await world.activity(world.branch)
    command_id = uuid.uuid4()
    await world.ledger.activities.check_in(
        world.admin, activity, activities.CheckIn(command_id=command_id, member_id=member))
    other = await world.member("M-2", world.branch)
    with pytest.raises((EventIdConflict, Refusal)):
        await world.ledger.activities.check_in(
            world.admin, activity, activities.CheckIn(command_id=command_id, member_id=other))


async def test_concurrent_commands_on_one_stream_all_land_in_order(world: World) -> None:
    activity = await world.activity(world.branch)
    people = [await world.member(f"M-{i}", world.branch) for i in range(20)]
    outcomes = await asyncio.gather(*(
        world.ledger.activities.check_in(world.admin, activity,
                                         activities.CheckIn(member_id=member))
        for member in people))
    versions = sorted(o.first_version for o in outcomes)
    assert versions == list(range(2, 22))
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None and len(state.participations) == 20


async def test_another_writer_moving_the_stream_makes_the_command_decide_again(
        world: World) -> None:
    activity = await world.activity(world.branch)
    first, second = (await world.member("M-1", world.branch),
                     await world.member("M-2", world.branch))
    stream = activities.stream_id(activity)
    # Another process checks M-1 in behind this process's cached state, once.
    elsewhere = activities.CheckIn(member_id=first)
    state = await world.ledger.state.activity(TENANT, activity)
    moved = activities.check_in(state, await world.ledger.state.member(TENANT, first),
                                elsewhere, uuid.uuid4(), now=START,
                                grace=timedelta(minutes=30), busy=[])

    async def other_process(tenant_id: str, stream_id: str) -> None:
        if stream_id == stream:
            world.store.before_append.clear()
            await world.store.append(tenant_id, stream_id, None, [
                NewEvent(event_id=uuid.uuid4(), event=moved[0], metadata=Metadata(actor="x"))])

    world.store.before_append.append(other_process)
    outcome = await world.ledger.activities.check_in(world.admin, activity,
                                                     activities.CheckIn(member_id=second))
    assert outcome.first_version == 3
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None and {p.member_id for p in state.participations.values()} == {
        first, second}


async def test_a_stream_that_never_stops_moving_answers_too_busy(world: World) -> None:
    activity = await world.activity(world.branch)
    member = await world.member("M-1", world.branch)
    stream = activities.stream_id(activity)
    # Another process over the same store (its own cache and locks) moves the stream
    # before every attempt of ours.
    elsewhere = Ledger(world.store, world.directory, world.organisers, clock=world.clock)
    moves = 0

    async def always_moving(tenant_id: str, stream_id: str) -> None:
        nonlocal moves
        if stream_id != stream:
            return
        moves += 1
        world.store.before_append.remove(always_moving)
        try:
            await elsewhere.activities.manage(
                world.organiser(world.community), activity, activities.RescheduleActivity(
                    starts_at=START, ends_at=START + timedelta(hours=2, minutes=moves),
                    reason="改期"))
        finally:
            world.store.before_append.append(always_moving)

    world.store.before_append.append(always_moving)
    with pytest.raises(TooBusy):
        await world.ledger.activities.check_in(world.admin, activity,
                                               activities.CheckIn(member_id=member))
    assert moves == ATTEMPTS


async def test_closing_consults_other_activities_before_deciding(world: World) -> None:
    """A forgotten check-out ends, on closing, where the member is known to have started
    elsewhere. The decision learns that from what was read for it, before deciding."""
    member = await world.member("M-1", world.branch)
    organiser = world.organiser(world.community)
    here = await world.activity(world.branch)
    later = await world.activity(world.branch, START + timedelta(hours=1))
    world.clock.now = START + timedelta(hours=1)
    await world.ledger.activities.check_in(world.admin, later,
                                           activities.CheckIn(member_id=member))
    # Back-filled afterwards by the organiser: present here since 09:00, never checked out.
    await world.ledger.activities.check_in(organiser, here, activities.CheckIn(
        member_id=member, method="organiser", at=START))
    world.clock.now = START + timedelta(hours=4)
    await world.ledger.activities.manage(organiser, here, activities.CloseActivity())
    state = await world.ledger.state.activity(TENANT, here)
    assert state is not None and state.status == "closed"
    (participation,) = state.participations.values()
    # Not the scheduled end (11:00): that would credit 10:00–11:00 twice.
    assert participation.checked_out_at == START + timedelta(hours=1)
