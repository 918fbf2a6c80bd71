"""The command executor on the in-memory store: idempotency, the per-stream lock, the
optimistic retry, and decisions that do no I/O."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import msgspec
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


async def _burst(world: World, activity: uuid.UUID, people: list[uuid.UUID]) -> list:
    return await asyncio.gather(*(
        world.ledger.activities.check_in(world.admin, activity,
                                         activities.CheckIn(member_id=member))
        for member in people), return_exceptions=True)


def _count_appends(world: World, stream: str) -> list[int]:
    """The number of events of each append to `stream`, as the store sees them."""
    sizes: list[int] = []
    original = world.store.append

    async def counting(tenant_id, stream_id, expected, events, previous_hash=None):
        if stream_id == stream:
            sizes.append(len(events))
        return await original(tenant_id, stream_id, expected, events, previous_hash)

    world.store.append = counting  # type: ignore[method-assign]
    return sizes


async def test_a_burst_into_one_stream_is_decided_together_in_few_appends(
        world: World) -> None:
    activity = await world.activity(world.branch)
    people = [await world.member(f"M-{i}", world.branch) for i in range(20)]
    sizes = _count_appends(world, activities.stream_id(activity))
    outcomes = await _burst(world, activity, people)
    assert len(sizes) < 20 and sum(sizes) == 20
    stored = {e.position: e for e in world.store.events}
    for member, outcome in zip(people, outcomes, strict=True):
        # Each caller is told exactly its own event.
        (position,) = outcome.positions
        event = stored[position]
        assert outcome.first_version == outcome.last_version == event.version
        assert msgspec.json.decode(event.data)["member_id"] == str(member)
        assert outcome.created_id == uuid.UUID(msgspec.json.decode(event.data)[
            "participation_id"])


async def test_a_refusal_in_a_burst_is_answered_to_its_command_alone(world: World) -> None:
    activity = await world.activity(world.branch)
    people = [await world.member(f"M-{i}", world.branch) for i in range(8)]
    outcomes = await _burst(world, activity, [*people, people[3]])
    refused = [o for o in outcomes if isinstance(o, Refusal)]
    assert len(refused) == 1 and refused[0].code == "already_checked_in"
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None and {p.member_id for p in state.participations.values()} == set(
        people)


async def test_a_burst_whose_shared_append_fails_is_run_again_one_by_one(
        world: World) -> None:
    activity = await world.activity(world.branch)
    people = [await world.member(f"M-{i}", world.branch) for i in range(10)]
    outsider = await world.member("M-x", world.branch)
    stream = activities.stream_id(activity)
    state = await world.ledger.state.activity(TENANT, activity)
    moved = activities.check_in(state, await world.ledger.state.member(TENANT, outsider),
                                activities.CheckIn(member_id=outsider), uuid.uuid4(),
                                now=START, grace=timedelta(minutes=30), busy=[])

    async def other_process(tenant_id: str, stream_id: str) -> None:
        # The first shared append finds the stream moved by another process.
        if stream_id == stream:
            world.store.before_append.clear()
            await world.store.append(tenant_id, stream_id, None, [
                NewEvent(event_id=uuid.uuid4(), event=moved[0], metadata=Metadata(actor="x"))])

    sizes = _count_appends(world, stream)
    results = await asyncio.gather(*(
        world.ledger.activities.check_in(world.admin, activity,
                                         activities.CheckIn(member_id=member))
        for member in people[:1]))
    world.store.before_append.append(other_process)
    results += await _burst(world, activity, people[1:])
    assert not [r for r in results if isinstance(r, BaseException)]
    assert any(size > 1 for size in sizes)
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None
    assert {p.member_id for p in state.participations.values()} == {*people, outsider}
    versions = [e.version for e in world.store.events if e.stream_id == stream]
    assert versions == list(range(1, len(versions) + 1))


async def test_nobody_sees_a_bursts_events_before_they_are_committed(world: World) -> None:
    activity = await world.activity(world.branch)
    people = [await world.member(f"M-{i}", world.branch) for i in range(6)]
    stream = activities.stream_id(activity)
    committing, go_on = asyncio.Event(), asyncio.Event()
    sizes = _count_appends(world, stream)

    async def slow_shared_commit(tenant_id: str, stream_id: str) -> None:
        if stream_id == stream:
            committing.set()
            await go_on.wait()

    world.store.before_append.append(slow_shared_commit)
    burst = asyncio.gather(*(
        world.ledger.activities.check_in(world.admin, activity,
                                         activities.CheckIn(member_id=member))
        for member in people))
    await committing.wait()
    assert sizes == [6]
    reader = asyncio.ensure_future(world.ledger.state.activity(TENANT, activity))
    await asyncio.sleep(0.01)
    assert not reader.done()  # the shared append is not committed yet
    go_on.set()
    await burst
    state = await reader
    assert state is not None and len(state.participations) == len(people)
