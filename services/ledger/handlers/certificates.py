"""Use cases of volunteer-service certificates (one stream per certificate) and of the
members' requests for them (in the member's stream)."""

from __future__ import annotations

import uuid

import msgspec

from contract.events import CertificateIssued, Event, decode_data
from contract.problems import forbidden
from ledger.domain import activities, certificates, members
from ledger.domain.certificates import (
    CertificateState,
    IssueCertificate,
    RefuseCertificateRequest,
    RequestCertificate,
)
from ledger.domain.members import MemberState
from ledger.handlers.actor import Actor, Outcome, require_organiser
from ledger.handlers.executor import CommandExecutor, Context, created_id
from ledger.handlers.ports import EventStore
from ledger.handlers.state import CurrentState


class CertificateHandlers:
    def __init__(self, executor: CommandExecutor, state: CurrentState, store: EventStore,
                 key: bytes) -> None:
        self._executor = executor
        self._state = state
        self._store = store
        self._key = key

    def _number(self, tenant_id: str, member_id: uuid.UUID, command_id: uuid.UUID,
                last_month: str) -> str:
        return certificates.certificate_number(self._key, tenant_id, member_id, command_id,
                                               last_month)

    async def issue(self, actor: Actor, member_id: uuid.UUID, command: IssueCertificate, *,
                    request_id: uuid.UUID | None = None) -> tuple[str, Outcome]:
        """The certificate's number and what the command did. Only an organiser issues:
        the rules have the organising unit certify what it recorded. `request_id`: the
        member's request it answers; its months are the request's, and its number is
        derived from the request, so that a request is answered once."""
        organiser = require_organiser(actor)
        # Without a command id a retry cannot be recognised anyway: a fresh one names it.
        command_id = command.command_id or uuid.uuid4()
        command = msgspec.structs.replace(command, command_id=command_id)
        member = await self._state.member(actor.tenant_id, member_id, max_age=0)
        if request_id is not None:
            asked = certificates.requested(member, request_id)
            command = msgspec.structs.replace(command, first_month=asked.first_month,
                                              last_month=asked.last_month)
        number = self._number(actor.tenant_id, member_id, request_id or command_id,
                              command.last_month)
        now = self._executor.clock()
        start, end = certificates.period(command, now)
        tree = await self._state.tree(actor.tenant_id)
        streams = await self._store.member_activity_streams(actor.tenant_id, member_id,
                                                            start, end)
        loaded = [await self._state.cache.load(actor.tenant_id, stream, activities.apply)
                  for stream in streams]
        states = [one.state for one in loaded if one.state is not None]

        def decide(state: CertificateState | None, context: Context) -> list[Event]:
            return certificates.issue(tree, state, member, states, command, organiser,
                                      member_id, number, context.now, request_id=request_id)

        outcome = await self._executor.execute(actor, certificates.stream_id(number),
                                               certificates.apply, command, decide,
                                               new_stream=True)
        return number, outcome

    async def refuse(self, actor: Actor, member_id: uuid.UUID, request_id: uuid.UUID,
                     command: RefuseCertificateRequest) -> Outcome:
        """Answer the member's request without a certificate, in the stream its certificate
        would have had (created once: an issued request cannot be refused, nor the reverse)."""
        organiser = require_organiser(actor)
        member = await self._state.member(actor.tenant_id, member_id, max_age=0)
        asked = certificates.requested(member, request_id)
        number = self._number(actor.tenant_id, member_id, request_id, asked.last_month)
        tree = await self._state.tree(actor.tenant_id)

        def decide(state: CertificateState | None, context: Context) -> list[Event]:
            return certificates.refuse(tree, state, member, command, organiser, request_id,
                                       context.now)

        return await self._executor.execute(actor, certificates.stream_id(number),
                                            certificates.apply, command, decide,
                                            new_stream=True)

    async def request(self, actor: Actor, member_id: uuid.UUID,
                      command: RequestCertificate) -> Outcome:
        """The member asks for a certificate (their own page only: an organiser who has
        the member in front of them issues one directly)."""
        if actor.member_id != member_id:
            raise forbidden("只能为自己申请证明", "members may only ask for their own certificate")
        request_id = created_id(command, "certificate-request")

        async def consult(state: MemberState | None) -> int:
            return await self._open_requests(actor.tenant_id, state)

        def decide(state: MemberState | None, context: Context) -> list[Event]:
            return certificates.request(state, command, request_id, context.consulted,
                                        context.now)

        return await self._executor.execute(actor, members.stream_id(member_id), members.apply,
                                            command, decide, consult=consult,
                                            created=request_id)

    async def _open_requests(self, tenant_id: str, member: MemberState | None) -> int:
        """The member's requests whose answer stream is still empty (a member asks a few
        times in years: one cached read each)."""
        if member is None:
            return 0
        unanswered = 0
        for request_id, (_first, last) in member.certificate_requests.items():
            number = self._number(tenant_id, member.member_id, request_id, last)
            loaded = await self._state.cache.load(tenant_id, certificates.stream_id(number),
                                                  certificates.apply)
            unanswered += loaded.state is None
        return unanswered

    async def get(self, tenant_id: str, number: str) -> CertificateIssued | None:
        """The certificate as the ledger holds it (its stream's event), or None."""
        if not certificates.well_formed(number):
            return None
        for stored in await self._store.read_stream(tenant_id, certificates.stream_id(number)):
            event = decode_data(stored.type, stored.schema_version, stored.data)
            if isinstance(event, CertificateIssued):
                return event
        return None
