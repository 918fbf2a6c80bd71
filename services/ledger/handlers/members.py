"""Use cases of a member (one stream per member) and their directory entry."""

from __future__ import annotations

import uuid

from contract.access import require_cover
from contract.events import Event, MemberDataErased
from contract.problems import Refusal
from ledger.adapters.directory import MemberNumberTaken
from ledger.domain import members
from ledger.domain.command import Command
from ledger.domain.members import MemberState
from ledger.handlers.actor import Actor, Outcome, require_unit_scope, require_writer
from ledger.handlers.executor import CommandExecutor, Context, created_id
from ledger.handlers.ports import Directory
from ledger.handlers.state import CurrentState

MemberChange = members.ReportMember | members.TransferMember | members.MemberLeaves


class MemberHandlers:
    def __init__(self, executor: CommandExecutor, state: CurrentState,
                 directory: Directory) -> None:
        self._executor = executor
        self._state = state
        self._directory = directory

    async def register(self, actor: Actor, command: members.RegisterMember) -> Outcome:
        tree = await self._state.tree(actor.tenant_id)
        require_unit_scope(actor, tree, command.unit_id)
        member_id = command.member_id or created_id(command, "member")
        if not command.member_number.strip() or not command.name.strip():
            field = "member_number" if not command.member_number.strip() else "name"
            raise Refusal("required", "必填项", f"{field} is required", field=field, status=422)
        # Decided once to refuse bad input before the directory row is written; then the
        # events are appended (deciding again, purely, on each retry). If the append then
        # fails, an orphan row with no events is harmless; a retry overwrites it.
        members.register(tree, None, command, member_id)
        try:
            await self._directory.put(actor.tenant_id, member_id,
                                      member_number=command.member_number.strip(),
                                      name=command.name.strip(), phone=command.phone,
                                      pin=command.pin)
        except MemberNumberTaken:
            raise Refusal("member_number_taken", "该党员编号已被使用",
                          "that member number is taken", field="member_number") from None

        def decide(state: MemberState | None, _: Context) -> list[Event]:
            return members.register(tree, state, command, member_id)

        return await self._executor.execute(actor, members.stream_id(member_id), members.apply,
                                            command, decide, created=member_id,
                                            new_stream=True)

    async def change(self, actor: Actor, member_id: uuid.UUID,
                     command: MemberChange) -> Outcome:
        require_writer(actor)
        tree = await self._state.tree(actor.tenant_id)
        current = await self._state.member(actor.tenant_id, member_id)
        # Both the unit the member reports to now and the one they go to must be in scope.
        target = getattr(command, "unit_id", None) or getattr(command, "to_unit_id", None)
        for unit_id in (current.unit_id if current else None, target):
            if unit_id is not None:
                require_cover(tree.covers(actor.scope_unit_id, unit_id))

        def decide(state: MemberState | None, _: Context) -> list[Event]:
            match command:
                case members.ReportMember():
                    return members.report(tree, state, command)
                case members.TransferMember():
                    return members.transfer(tree, state, command)
                case members.MemberLeaves():
                    return members.leave(state, command)

        return await self._executor.execute(actor, members.stream_id(member_id), members.apply,
                                            command, decide)

    async def erase(self, actor: Actor, member_id: uuid.UUID) -> Outcome:
        """Erase a member's personal data (PIPL); the records stay, keyed by id only."""
        require_writer(actor)
        state = members.existing(await self._state.member(actor.tenant_id, member_id,
                                                          max_age=0))
        # Erasure cannot be undone: only a writer whose subtree holds the member.
        tree = await self._state.tree(actor.tenant_id, max_age=0)
        require_cover(actor.scope_unit_id is None or (
            state.unit_id is not None and tree.covers(actor.scope_unit_id, state.unit_id)))
        await self._directory.erase(actor.tenant_id, member_id)

        def decide(_state: MemberState | None, context: Context) -> list[Event]:
            return [MemberDataErased(member_id=member_id, erased_at=context.now)]

        return await self._executor.execute(actor, members.stream_id(member_id), members.apply,
                                            Command(), decide)
