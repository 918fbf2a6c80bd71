"""A ledger over the in-memory fakes (tests/fakes.py), with a small tree, for handler tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from ledger.domain import activities, members, organisation
from ledger.domain.honor_rolls import ComputedRoll
from ledger.handlers import Actor, Ledger
from tests.fakes import FixedRolls, InMemoryDirectory, InMemoryEventStore, InMemoryOrganisers

TENANT = "t-handlers"
START = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    ledger: Ledger
    store: InMemoryEventStore
    directory: InMemoryDirectory
    organisers: InMemoryOrganisers
    rolls: FixedRolls
    clock: Clock
    admin: Actor
    district: uuid.UUID
    community: uuid.UUID
    branch: uuid.UUID
    other_branch: uuid.UUID

    def organiser(self, unit: uuid.UUID) -> Actor:
        return Actor(tenant_id=TENANT, name="organiser", role="organiser", can_write=True,
                     organiser_id=uuid.uuid4(), scope_unit_id=unit)

    def client(self, unit: uuid.UUID | None, *, can_write: bool = True) -> Actor:
        return Actor(tenant_id=TENANT, name="client", can_write=can_write, scope_unit_id=unit)

    async def unit(self, kind: str, parent: uuid.UUID | None, name: str) -> uuid.UUID:
        outcome = await self.ledger.units.establish(self.admin, organisation.EstablishUnit(
            kind=kind, parent_id=parent, name=name, effective=date(2020, 1, 1)))
        assert outcome.created_id is not None
        return outcome.created_id

    async def member(self, number: str, unit: uuid.UUID) -> uuid.UUID:
        outcome = await self.ledger.members.register(self.admin, members.RegisterMember(
            kind="in_service", employer="区税务局", registered_on=date(2024, 1, 1),
            member_number=number,
            name="张三", unit_id=unit))
        assert outcome.created_id is not None
        return outcome.created_id

    async def activity(self, host: uuid.UUID, starts_at: datetime = START) -> uuid.UUID:
        outcome = await self.ledger.activities.schedule(
            self.organiser(self.community), activities.ScheduleActivity(
                kind="cleanup", category="service", host_unit_id=host, title="楼道清理",
                place="3号楼", starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)))
        assert outcome.created_id is not None
        return outcome.created_id


@pytest.fixture
async def world() -> World:
    store, directory, organisers = InMemoryEventStore(), InMemoryDirectory(), InMemoryOrganisers()
    clock = Clock()
    rolls = FixedRolls(ComputedRoll(rule_set="standard", rule_version=1,
                                    computed_at_position="1-1", entries=[]))
    ledger = Ledger(store, directory, organisers, rolls=rolls, clock=clock)
    admin = Actor(tenant_id=TENANT, name="admin", can_write=True)
    w = World(ledger, store, directory, organisers, rolls, clock, admin, *([uuid.UUID(int=0)] * 4))
    w.district = await w.unit("district", None, "新罗区")
    street = await w.unit("street", w.district, "东城街道")
    w.community = await w.unit("community", street, "兴华南里社区")
    w.branch = await w.unit("branch", w.community, "第一党支部")
    w.other_branch = await w.unit("branch", w.community, "第二党支部")
    return w

