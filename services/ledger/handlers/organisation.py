"""Use cases of the organisation tree (one stream per tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from contract.events import Event
from ledger.domain import organisation
from ledger.domain.organisation import OrgTree
from ledger.handlers.actor import Actor, Outcome, require_unit_scope
from ledger.handlers.executor import CommandExecutor, Context, created_id
from ledger.handlers.state import CurrentState, fold_tree

UnitChange = (organisation.RenameUnit | organisation.MoveUnit | organisation.MergeUnit
              | organisation.DissolveUnit)
_CHANGES: dict[type, Callable[[OrgTree, uuid.UUID, Any], list[Event]]] = {
    organisation.RenameUnit: organisation.rename,
    organisation.MoveUnit: organisation.move,
    organisation.MergeUnit: organisation.merge,
    organisation.DissolveUnit: organisation.dissolve,
}


class UnitHandlers:
    def __init__(self, executor: CommandExecutor, state: CurrentState) -> None:
        self._executor = executor
        self._state = state

    async def establish(self, actor: Actor, command: organisation.EstablishUnit) -> Outcome:
        require_unit_scope(actor, await self._state.tree(actor.tenant_id), command.parent_id)
        unit_id = command.unit_id or created_id(command, "unit")

        def decide(tree: OrgTree | None, _: Context) -> list[Event]:
            return organisation.establish(tree or OrgTree(), command, unit_id)

        return await self._executor.execute(actor, organisation.STREAM, fold_tree, command,
                                            decide, created=unit_id)

    async def change(self, actor: Actor, unit_id: uuid.UUID, command: UnitChange) -> Outcome:
        tree = await self._state.tree(actor.tenant_id)
        # The unit changed, and where a move or a merge takes it, must both be in scope.
        require_unit_scope(actor, tree, unit_id)
        if isinstance(command, organisation.MoveUnit):
            require_unit_scope(actor, tree, command.parent_id)
        if isinstance(command, organisation.MergeUnit):
            require_unit_scope(actor, tree, command.into_unit_id)
        change = _CHANGES[type(command)]

        def decide(current: OrgTree | None, _: Context) -> list[Event]:
            return change(current or OrgTree(), unit_id, command)

        return await self._executor.execute(actor, organisation.STREAM, fold_tree, command,
                                            decide)
