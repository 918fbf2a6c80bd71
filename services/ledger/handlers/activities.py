"""Use cases of an activity (one stream per activity): the organiser's side and the
members' attendance."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import msgspec

from contract.events import Event
from contract.problems import Refusal
from ledger.domain import activities
from ledger.domain.activities import ActivityState, Busy
from ledger.domain.command import Command
from ledger.handlers.actor import (
    Actor,
    Outcome,
    require_activity_scope,
    require_organiser,
    require_self_or_writer,
)
from ledger.handlers.executor import CommandExecutor, Context, Decide, created_id
from ledger.handlers.ports import OrganiserAccounts
from ledger.handlers.state import CurrentState

Management = (activities.RescheduleActivity | activities.ReviseActivityDetails
              | activities.CancelActivity
              | activities.CloseActivity | activities.ConfirmAttendance
              | activities.CorrectParticipation | activities.RevokeParticipation
              | activities.AcceptCorrectionRequest | activities.AmendCorrectionRequest
              | activities.RefuseCorrectionRequest)


class Confirmation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    participation_id: uuid.UUID
    # None: credit what the rules allow (time present in the window, capped).
    minutes: int | None = None


class ConfirmMany(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An organiser confirms a roster at once; all or none are recorded."""

    confirmations: list[Confirmation]


class ActivityHandlers:
    def __init__(self, executor: CommandExecutor, state: CurrentState,
                 organisers: OrganiserAccounts, checkin_grace: timedelta) -> None:
        self._executor = executor
        self._state = state
        self._organisers = organisers
        self._grace = checkin_grace

    async def _execute(self, actor: Actor, activity_id: uuid.UUID, command: Command,
                       decide: Decide, **options: Any) -> Outcome:
        return await self._executor.execute(actor, activities.stream_id(activity_id),
                                            activities.apply, command, decide, **options)

    # --- the organiser's side -------------------------------------------------------

    async def schedule(self, actor: Actor, command: activities.ScheduleActivity) -> Outcome:
        organiser = require_organiser(actor)
        activity_id = command.activity_id or created_id(command, "activity")
        tree = await self._state.tree(actor.tenant_id)
        # Co-organisers are named in the event for ever: only accounts that exist.
        known = (await self._organisers.known(actor.tenant_id, command.organiser_ids)
                 if command.organiser_ids else set())

        def decide(state: ActivityState | None, _: Context) -> list[Event]:
            return activities.schedule(tree, state, command, activity_id, organiser,
                                       known_organisers=known)

        return await self._execute(actor, activity_id, command, decide, created=activity_id,
                                   new_stream=True)

    async def manage(self, actor: Actor, activity_id: uuid.UUID,
                     command: Management) -> Outcome:
        organiser = require_organiser(actor)
        tree = await self._state.tree(actor.tenant_id)

        async def consult(state: ActivityState | None) -> object:
            # Closing and amending times reach into the members' other activities.
            if isinstance(command, activities.CloseActivity):
                return await self._busy_of_open(actor.tenant_id, state)
            if isinstance(command, activities.CorrectParticipation):
                return await self._busy_for_correction(actor.tenant_id, state, command)
            return None

        def decide(state: ActivityState | None, context: Context) -> list[Event]:
            now = context.now
            match command:
                case activities.RescheduleActivity():
                    return activities.reschedule(tree, state, command, organiser)
                case activities.ReviseActivityDetails():
                    return activities.revise_details(tree, state, command, organiser)
                case activities.CancelActivity():
                    return activities.cancel(tree, state, command, organiser)
                case activities.CloseActivity():
                    return activities.close(tree, state, organiser, now,
                                            busy=context.consulted)
                case activities.ConfirmAttendance():
                    return activities.confirm(tree, state, command, organiser, now)
                case activities.CorrectParticipation():
                    return activities.correct(tree, state, command, organiser, now,
                                              busy=context.consulted)
                case activities.RevokeParticipation():
                    return activities.revoke(tree, state, command, organiser, now)
                case activities.AcceptCorrectionRequest():
                    return activities.accept_request(tree, state, command, organiser, now)
                case activities.AmendCorrectionRequest():
                    return activities.amend_request(tree, state, command, organiser, now)
                case activities.RefuseCorrectionRequest():
                    return activities.refuse_request(tree, state, command, organiser, now)

        return await self._execute(actor, activity_id, command, decide, consult=consult)

    async def confirm_many(self, actor: Actor, activity_id: uuid.UUID,
                           command: ConfirmMany) -> Outcome:
        organiser = require_organiser(actor)
        ids = [item.participation_id for item in command.confirmations]
        if not ids or len(ids) > 1000 or len(set(ids)) != len(ids):
            raise Refusal("invalid_confirmations", "请列出1至1000条不重复的签到记录",
                          "list 1–1000 distinct participations", field="confirmations",
                          status=422)
        tree = await self._state.tree(actor.tenant_id)

        def decide(state: ActivityState | None, context: Context) -> list[Event]:
            events: list[Event] = []
            for index, item in enumerate(command.confirmations):
                try:
                    events += activities.confirm(
                        tree, state,
                        activities.ConfirmAttendance(participation_id=item.participation_id,
                                                     minutes=item.minutes),
                        organiser, context.now,
                    )
                except Refusal as refusal:
                    raise _in_row(refusal, index, item.participation_id) from None
            return events

        return await self._execute(actor, activity_id, command, decide)

    async def _busy_of_open(self, tenant_id: str,
                            state: ActivityState | None) -> dict[uuid.UUID, list[Busy]]:
        """For closing: where each member still checked in here was seen elsewhere since."""
        if state is None:
            return {}
        open_ones = [p for p in state.participations.values() if p.open]
        spans = await asyncio.gather(*(
            self._state.busy(tenant_id, p.member_id, state.activity_id, p.checked_in_at)
            for p in open_ones
        ))
        return {p.member_id: s for p, s in zip(open_ones, spans, strict=True)}

    async def _busy_for_correction(self, tenant_id: str, state: ActivityState | None,
                                   command: activities.CorrectParticipation) -> list[Busy]:
        """Amended times must not overlap the member's other activities."""
        amended = command.checked_in_at or command.checked_out_at
        participation = state.participations.get(command.participation_id) if state else None
        if state is None or participation is None or amended is None:
            return []
        return await self._state.busy(tenant_id, participation.member_id, state.activity_id,
                                      amended)

    # --- attendance -----------------------------------------------------------------

    async def check_in(self, actor: Actor, activity_id: uuid.UUID,
                       command: activities.CheckIn) -> Outcome:
        require_self_or_writer(actor, command.member_id)
        participation_id = created_id(command, "participation")
        moment = command.at or self._executor.clock()
        # Independent reads, issued together: each is a round trip to PostgreSQL.
        tree, member, busy = await asyncio.gather(
            self._state.tree(actor.tenant_id) if actor.scoped else _none(),
            self._state.member(actor.tenant_id, command.member_id),
            self._state.busy(actor.tenant_id, command.member_id, activity_id, moment),
        )

        def decide(state: ActivityState | None, context: Context) -> list[Event]:
            if state is not None:
                require_activity_scope(actor, state, tree)
            return activities.check_in(state, member, command, participation_id,
                                       now=context.now, grace=self._grace, busy=busy,
                                       recorded_by=actor.organiser, tree=tree)

        return await self._execute(actor, activity_id, command, decide,
                                   created=participation_id)

    async def check_out(self, actor: Actor, activity_id: uuid.UUID,
                        command: activities.CheckOut) -> Outcome:
        require_self_or_writer(actor, command.member_id)
        tree = await self._state.tree(actor.tenant_id) if actor.scoped else None
        # Only a back-filled time can reach into the member's other activities.
        busy = (await self._state.busy(actor.tenant_id, command.member_id, activity_id,
                                       command.at)
                if command.at is not None else [])

        def decide(state: ActivityState | None, context: Context) -> list[Event]:
            if state is not None:
                require_activity_scope(actor, state, tree)
            return activities.check_out(state, command, now=context.now,
                                        recorded_by=actor.organiser, tree=tree, busy=busy)

        return await self._execute(actor, activity_id, command, decide)

    async def request_correction(self, actor: Actor, activity_id: uuid.UUID,
                                 command: activities.RequestCorrection) -> Outcome:
        require_self_or_writer(actor, command.member_id)
        tree = await self._state.tree(actor.tenant_id) if actor.scope_unit_id else None

        def decide(state: ActivityState | None, context: Context) -> list[Event]:
            if state is not None:
                require_activity_scope(actor, state, tree)
            return activities.request_correction(state, command, context.now)

        return await self._execute(actor, activity_id, command, decide)


def _in_row(refusal: Refusal, index: int, participation_id: uuid.UUID) -> Refusal:
    """A row's refusal names its row: the field's place in the list, and the record (the
    pages name the member from it). The whole batch is refused: all or none."""
    if refusal.field is None:
        return refusal  # about the activity or the caller (cancelled, forbidden), not a row
    return Refusal(refusal.code, refusal.zh, refusal.en,
                   field=f"confirmations[{index}].{refusal.field}", status=refusal.status,
                   headers=refusal.headers, **refusal.extra,
                   participation_id=str(participation_id))


async def _none() -> None:
    return None
