"""The use cases' authority and their ports, on the in-memory fakes: what a caller may do
where, what reaches the directory, and where a published roll comes from."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from contract.events import HonorRollEntry, HonorRollPublished, decode_data
from contract.problems import Refusal
from ledger.domain import activities, honor_rolls, members, organisation
from ledger.domain.honor_rolls import ComputedRoll
from ledger.handlers import Actor
from tests.unit.handlers.conftest import TENANT, World


async def _refused(status: int, call: object) -> Refusal:
    with pytest.raises(Refusal) as caught:
        await call  # type: ignore[misc]
    assert caught.value.status == status, caught.value
    return caught.value


async def test_a_scoped_client_cannot_check_in_to_another_branchs_activity(
        world: World) -> None:
    member = await world.member("M-1", world.other_branch)
    theirs = await world.activity(world.other_branch)
    mine = world.client(world.branch)
    await _refused(403, world.ledger.activities.check_in(
        mine, theirs, activities.CheckIn(member_id=member)))
    await _refused(403, world.ledger.activities.check_out(
        mine, theirs, activities.CheckOut(member_id=member)))
    ours = await world.activity(world.branch)
    outcome = await world.ledger.activities.check_in(mine, ours,
                                                     activities.CheckIn(member_id=member))
    assert outcome.created_id is not None


async def test_read_only_and_other_members_cannot_act(world: World) -> None:
    member, other = (await world.member("M-1", world.branch),
                     await world.member("M-2", world.branch))
    activity = await world.activity(world.branch)
    await _refused(403, world.ledger.activities.check_in(
        world.client(None, can_write=False), activity, activities.CheckIn(member_id=member)))
    themself = Actor(tenant_id=TENANT, name="member", role="member", member_id=other)
    await _refused(403, world.ledger.activities.check_in(
        themself, activity, activities.CheckIn(member_id=member)))
    await world.ledger.activities.check_in(themself, activity,
                                           activities.CheckIn(member_id=other))


async def test_only_a_writer_covering_the_member_erases_them(world: World) -> None:
    member = await world.member("M-1", world.branch)
    await _refused(403, world.ledger.members.erase(world.client(world.other_branch), member))
    entry = await world.directory.get(TENANT, member)
    assert entry is not None and not entry.erased
    await world.ledger.members.erase(world.client(world.branch), member)
    entry = await world.directory.get(TENANT, member)
    assert entry is not None and entry.erased and entry.name is None
    stream = await world.store.read_stream(TENANT, members.stream_id(member))
    assert stream[-1].type == "MemberDataErased"


async def test_units_are_changed_only_within_scope(world: World) -> None:
    branch_writer = world.client(world.branch)
    await _refused(403, world.ledger.units.establish(branch_writer, organisation.EstablishUnit(
        kind="district", name="另一个区", effective=date(2020, 1, 1))))
    await _refused(403, world.ledger.units.change(
        branch_writer, world.other_branch,
        organisation.RenameUnit(name="改名", effective=date(2026, 1, 1))))
    group = (await world.ledger.units.establish(branch_writer, organisation.EstablishUnit(
        kind="group", parent_id=world.branch, name="党小组", effective=date(2020, 1, 1)))
    ).created_id
    assert group is not None
    # Moving it out of the caller's subtree needs the destination in scope too.
    await _refused(403, world.ledger.units.change(
        branch_writer, group, organisation.MoveUnit(parent_id=world.other_branch,
                                                    effective=date(2026, 1, 1))))


async def test_registering_writes_the_directory_once_and_refuses_a_taken_number(
        world: World) -> None:
    member = await world.member("M-1", world.branch)
    entry = await world.directory.get(TENANT, member)
    assert entry is not None and (entry.member_number, entry.name) == ("M-1", "张三")
    events = await world.store.read_stream(TENANT, members.stream_id(member))
    # Personal data stays out of the immutable events.
    assert all(b"M-1" not in bytes(e.data) for e in events)
    refusal = await _refused(409, world.ledger.members.register(
        world.admin, members.RegisterMember(kind="retired", registered_on=date(2024, 1, 1),
                                            member_number="M-1", name="李四",
                                            unit_id=world.branch)))
    assert (refusal.code, refusal.field) == ("member_number_taken", "member_number")


async def test_a_published_roll_holds_what_the_reports_computed(world: World) -> None:
    member = await world.member("M-1", world.branch)
    entries = [HonorRollEntry(rank=1, member_id=member, minutes=120, activities=1)]
    world.rolls.roll = ComputedRoll(rule_set="standard", rule_version=2,
                                    computed_at_position="5-9", entries=entries)
    organiser = world.organiser(world.community)
    # A month still running is refused before the reports are asked.
    await _refused(422, world.ledger.honor_rolls.publish(organiser, honor_rolls.PublishHonorRoll(
        unit_id=world.community, month="2026-03")))
    assert world.rolls.asked == 0
    outcome = await world.ledger.honor_rolls.publish(organiser, honor_rolls.PublishHonorRoll(
        unit_id=world.community, month="2026-02"))
    (stored,) = await world.store.read_stream(TENANT, outcome.stream_id)
    published = decode_data(stored.type, stored.schema_version, stored.data)
    assert isinstance(published, HonorRollPublished)
    assert (published.entries, published.rule_version, published.computed_at_position) == (
        entries, 2, "5-9")
    await _refused(409, world.ledger.honor_rolls.publish(organiser, honor_rolls.PublishHonorRoll(
        unit_id=world.community, month="2026-02")))
    await _refused(403, world.ledger.honor_rolls.publish(
        world.organiser(world.branch), honor_rolls.PublishHonorRoll(
            unit_id=world.community, month="2026-01")))


async def test_check_in_refusals_append_nothing(world: World) -> None:
    activity = await world.activity(world.branch)
    before = len(world.store.events)
    await _refused(404, world.ledger.activities.check_in(
        world.admin, activity, activities.CheckIn(member_id=uuid.uuid4())))
    assert len(world.store.events) == before


async def test_only_the_tenants_organisers_can_be_named_co_organisers(world: World) -> None:
    organiser = world.organiser(world.community)
    colleague, stranger = uuid.uuid4(), uuid.uuid4()
    world.organisers.accounts.add((TENANT, colleague))
    world.organisers.accounts.add(("another-tenant", stranger))

    def plan(*named: uuid.UUID) -> activities.ScheduleActivity:
        return activities.ScheduleActivity(
            kind="cleanup", category="service", host_unit_id=world.branch, title="楼道清理",
            place="3号楼", starts_at=world.clock.now,
            ends_at=world.clock.now + timedelta(hours=2), organiser_ids=list(named))

    written = len(world.store.events)
    refused = await _refused(422, world.ledger.activities.schedule(
        organiser, plan(colleague, stranger)))
    assert (refused.code, refused.field) == ("unknown_organiser", "organiser_ids")
    assert len(world.store.events) == written
    outcome = await world.ledger.activities.schedule(organiser, plan(colleague))
    assert outcome.created_id is not None
    state = await world.ledger.state.activity(TENANT, outcome.created_id)
    assert state is not None
    assert state.organiser_ids == [organiser.organiser_id, colleague]


async def test_an_organiser_in_scope_revises_the_title_and_capacity(world: World) -> None:
    activity = await world.activity(world.branch)
    member = await world.member("M-1", world.branch)
    await world.ledger.activities.check_in(world.client(world.branch), activity,
                                           activities.CheckIn(member_id=member))
    revise = activities.ReviseActivityDetails(title="楼道清理（3号楼）", capacity=1,
                                              reason="写清楼号")
    await _refused(403, world.ledger.activities.manage(world.organiser(world.other_branch),
                                                       activity, revise))
    await _refused(403, world.ledger.activities.manage(world.client(world.branch), activity,
                                                       revise))
    outcome = await world.ledger.activities.manage(world.organiser(world.branch), activity,
                                                   revise)
    (stored,) = [e for e in await world.store.read_stream(TENANT, outcome.stream_id)
                 if e.type == "ActivityDetailsRevised"]
    assert decode_data(stored.type, stored.schema_version, stored.data).capacity == 1
    state = await world.ledger.state.activity(TENANT, activity)
    assert state is not None and (state.title, state.capacity) == ("楼道清理（3号楼）", 1)
    # The one place left is taken: nobody else checks in.
    other = await world.member("M-2", world.branch)
    refusal = await _refused(409, world.ledger.activities.check_in(
        world.client(world.branch), activity, activities.CheckIn(member_id=other)))
    assert refusal.code == "activity_full"
