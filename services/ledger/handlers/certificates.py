"""Use cases of volunteer-service certificates (one stream per certificate)."""

from __future__ import annotations

import uuid

import msgspec

from contract.events import CertificateIssued, Event, decode_data
from ledger.domain import activities, certificates
from ledger.domain.certificates import CertificateState, IssueCertificate
from ledger.handlers.actor import Actor, Outcome, require_organiser
from ledger.handlers.executor import CommandExecutor, Context
from ledger.handlers.ports import EventStore
from ledger.handlers.state import CurrentState


class CertificateHandlers:
    def __init__(self, executor: CommandExecutor, state: CurrentState, store: EventStore,
                 key: bytes) -> None:
        self._executor = executor
        self._state = state
        self._store = store
        self._key = key

    async def issue(self, actor: Actor, member_id: uuid.UUID,
                    command: IssueCertificate) -> tuple[str, Outcome]:
        """The certificate's number and what the command did. Only an organiser issues:
        the rules have the organising unit certify what it recorded."""
        organiser = require_organiser(actor)
        # Without a command id a retry cannot be recognised anyway: a fresh one names it.
        command_id = command.command_id or uuid.uuid4()
        command = msgspec.structs.replace(command, command_id=command_id)
        number = certificates.certificate_number(self._key, actor.tenant_id, member_id,
                                                 command_id, command.last_month)
        now = self._executor.clock()
        start, end = certificates.period(command, now)
        tree = await self._state.tree(actor.tenant_id)
        member = await self._state.member(actor.tenant_id, member_id, max_age=0)
        streams = await self._store.member_activity_streams(actor.tenant_id, member_id,
                                                            start, end)
        loaded = [await self._state.cache.load(actor.tenant_id, stream, activities.apply)
                  for stream in streams]
        states = [one.state for one in loaded if one.state is not None]

        def decide(state: CertificateState | None, context: Context) -> list[Event]:
            return certificates.issue(tree, state, member, states, command, organiser,
                                      member_id, number, context.now)

        outcome = await self._executor.execute(actor, certificates.stream_id(number),
                                               certificates.apply, command, decide,
                                               new_stream=True)
        return number, outcome

    async def get(self, tenant_id: str, number: str) -> CertificateIssued | None:
        """The certificate as the ledger holds it (its stream's event), or None."""
        if not certificates.well_formed(number):
            return None
        for stored in await self._store.read_stream(tenant_id, certificates.stream_id(number)):
            event = decode_data(stored.type, stored.schema_version, stored.data)
            if isinstance(event, CertificateIssued):
                return event
        return None
