"""Issuing a certificate on the in-memory fakes: its stream and number, a retry that
answers the same certificate, a command id reused for another member, and who may issue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contract.events import CertificateIssued, CertificateRequestRefused, decode_data
from contract.problems import Refusal
from ledger.adapters.event_store import EventIdConflict
from ledger.domain import activities, certificates, members
from ledger.domain.certificates import (
    IssueCertificate,
    RefuseCertificateRequest,
    RequestCertificate,
)
from ledger.handlers import Actor, Confirmation, ConfirmMany
from tests.unit.handlers.conftest import START, TENANT, World


async def served(world: World, member: uuid.UUID) -> None:
    activity = await world.activity(world.branch)
    organiser = world.organiser(world.community)
    checked_in = await world.ledger.activities.check_in(world.admin, activity,
                                                        activities.CheckIn(member_id=member))
    world.clock.now = START + timedelta(minutes=75)
    await world.ledger.activities.check_out(world.admin, activity,
                                            activities.CheckOut(member_id=member))
    assert checked_in.created_id is not None
    await world.ledger.activities.confirm_many(organiser, activity, ConfirmMany(
        confirmations=[Confirmation(participation_id=checked_in.created_id)]))


MARCH = IssueCertificate(command_id=uuid.UUID(int=7), first_month="2026-03",
                         last_month="2026-03")


async def test_issue_appends_one_event_in_its_own_stream_and_a_retry_replays(
        world: World) -> None:
    member = await world.member("M-1", world.branch)
    await served(world, member)
    organiser = world.organiser(world.community)
    number, outcome = await world.ledger.certificates.issue(organiser, member, MARCH)
    assert outcome.stream_id == certificates.stream_id(number) and not outcome.replayed
    [stored] = [e for e in world.store.events if e.stream_id == outcome.stream_id]
    event = decode_data(stored.type, stored.schema_version, stored.data)
    assert isinstance(event, CertificateIssued)
    assert (event.number, event.member_id, event.minutes) == (number, member, 75)
    assert event.issued_by == organiser.organiser_id

    again_number, again = await world.ledger.certificates.issue(organiser, member, MARCH)
    assert (again_number, again.replayed) == (number, True)
    assert len([e for e in world.store.events if e.type == "CertificateIssued"]) == 1
    assert await world.ledger.certificates.get(TENANT, number) == event
    assert await world.ledger.certificates.get(TENANT, number[:-1] + "Q") is None
    assert await world.ledger.certificates.get(TENANT, "not a number") is None


async def test_a_command_id_reused_for_another_member_is_a_conflict(world: World) -> None:
    first, second = (await world.member("M-1", world.branch),
                     await world.member("M-2", world.branch))
    await served(world, first)
    world.clock.now = START
    await served(world, second)
    organiser = world.organiser(world.community)
    await world.ledger.certificates.issue(organiser, first, MARCH)
    with pytest.raises(EventIdConflict):
        await world.ledger.certificates.issue(organiser, second, MARCH)


async def test_only_an_organiser_covering_the_member_issues(world: World) -> None:
    member = await world.member("M-1", world.branch)
    await served(world, member)
    for actor in (world.admin, world.organiser(world.other_branch)):
        with pytest.raises(Refusal) as refused:
            await world.ledger.certificates.issue(actor, member, IssueCertificate(
                first_month="2026-03", last_month="2026-03"))
        assert refused.value.status == 403
    # Without a command id each call is a new certificate.
    organiser = world.organiser(world.branch)
    plain = IssueCertificate(first_month="2026-03", last_month="2026-03")
    one, _ = await world.ledger.certificates.issue(organiser, member, plain)
    two, _ = await world.ledger.certificates.issue(organiser, member, plain)
    assert one != two


def member_actor(member: uuid.UUID) -> Actor:
    return Actor(tenant_id=TENANT, name=f"member:{member}", role="member", source="form",
                 member_id=member)


async def test_a_member_asks_and_the_request_is_answered_once_by_a_certificate(
        world: World) -> None:
    member = await world.member("M-1", world.branch)
    await served(world, member)
    asked = await world.ledger.certificates.request(member_actor(member), member,
                                                    RequestCertificate(first_month="2026-03",
                                                                       last_month="2026-03"))
    request_id = asked.created_id
    assert request_id is not None and asked.stream_id == members.stream_id(member)
    # One open request at a time.
    with pytest.raises(Refusal) as waiting:
        await world.ledger.certificates.request(member_actor(member), member,
                                                RequestCertificate(first_month="2026-01",
                                                                   last_month="2026-03"))
    assert waiting.value.code == "request_open"
    # The months are the request's, whatever the form said.
    organiser = world.organiser(world.community)
    number, _ = await world.ledger.certificates.issue(
        organiser, member, IssueCertificate(first_month="2026-01", last_month="2026-02",
                                            contact="社区服务站"), request_id=request_id)
    issued = await world.ledger.certificates.get(TENANT, number)
    assert issued is not None and issued.request_id == request_id
    assert (issued.first_month, issued.last_month, issued.minutes) == ("2026-03", "2026-03", 75)
    # Answered: a second answer, by anyone, is refused; the member may ask again.
    for answer in (
        world.ledger.certificates.issue(world.organiser(world.branch), member, MARCH,
                                        request_id=request_id),
        world.ledger.certificates.refuse(organiser, member, request_id,
                                         RefuseCertificateRequest(reason="重复")),
    ):
        with pytest.raises(Refusal) as twice:
            await answer
        assert twice.value.code == "already_issued"
    again = await world.ledger.certificates.request(member_actor(member), member,
                                                    RequestCertificate(first_month="2026-03",
                                                                       last_month="2026-03"))
    assert again.created_id not in (None, request_id)


async def test_a_refused_request_stays_refused_and_only_the_member_asks(world: World) -> None:
    member, other = (await world.member("M-1", world.branch),
                     await world.member("M-2", world.branch))
    march = RequestCertificate(first_month="2026-03", last_month="2026-03")
    for actor in (member_actor(other), world.organiser(world.community), world.admin):
        with pytest.raises(Refusal) as foreign:
            await world.ledger.certificates.request(actor, member, march)
        assert foreign.value.status == 403
    asked = await world.ledger.certificates.request(member_actor(member), member, march)
    assert asked.created_id is not None
    with pytest.raises(Refusal) as outside:
        await world.ledger.certificates.refuse(world.organiser(world.other_branch), member,
                                               asked.created_id,
                                               RefuseCertificateRequest(reason="不在本支部"))
    assert outside.value.status == 403
    with pytest.raises(Refusal) as unknown:
        await world.ledger.certificates.refuse(world.organiser(world.branch), other,
                                               asked.created_id,
                                               RefuseCertificateRequest(reason="他人的申请"))
    assert unknown.value.code == "request_not_found"
    await world.ledger.certificates.refuse(world.organiser(world.branch), member,
                                           asked.created_id,
                                           RefuseCertificateRequest(reason="该期间没有服务记录"))
    [refused] = [e for e in world.store.events if e.type == "CertificateRequestRefused"]
    event = decode_data(refused.type, refused.schema_version, refused.data)
    assert isinstance(event, CertificateRequestRefused)
    assert (event.request_id, event.reason) == (asked.created_id, "该期间没有服务记录")
    await served(world, member)
    with pytest.raises(Refusal) as late:
        await world.ledger.certificates.issue(world.organiser(world.branch), member, MARCH,
                                              request_id=asked.created_id)
    assert late.value.code == "already_refused"
