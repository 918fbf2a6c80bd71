"""Use cases of a unit's monthly honor roll (one stream per unit and month)."""

from __future__ import annotations

import uuid

from contract.events import Event
from contract.problems import Refusal, forbidden
from ledger.domain import honor_rolls
from ledger.domain.honor_rolls import HonorRollState
from ledger.handlers.actor import Actor, Outcome, require_organiser
from ledger.handlers.executor import CommandExecutor, Context
from ledger.handlers.ports import RollSource
from ledger.handlers.state import CurrentState, fold_honor_roll


class HonorRollHandlers:
    def __init__(self, executor: CommandExecutor, state: CurrentState,
                 rolls: RollSource | None) -> None:
        self._executor = executor
        self._state = state
        self._rolls = rolls

    async def publish(self, actor: Actor, command: honor_rolls.PublishHonorRoll) -> Outcome:
        organiser = require_organiser(actor)
        tree = await self._state.tree(actor.tenant_id)
        stream = honor_rolls.stream_id(command.unit_id, command.month)
        # Refused before the reports are asked: out of scope, published, month not over.
        honor_rolls.check_publishable(tree, await self._state.honor_roll(actor.tenant_id, stream),
                                      command, organiser.scope_unit_id, self._executor.clock())
        if self._rolls is None:
            raise Refusal("reports_unavailable", "未配置报表服务",
                          "no reports service configured", status=503)
        roll = await self._rolls.computed_roll(actor.tenant_id, command.unit_id, command.month,
                                               command.rule_set, command.rule_version)

        def decide(state: HonorRollState | None, context: Context) -> list[Event]:
            return honor_rolls.publish(tree, state, command, roll, organiser.scope_unit_id,
                                       organiser.organiser_id, context.now)

        return await self._executor.execute(actor, stream, fold_honor_roll, command, decide)

    async def record_objection(self, actor: Actor, unit_id: uuid.UUID, month: str,
                               command: honor_rolls.RecordObjection) -> Outcome:
        organiser = require_organiser(actor)
        tree = await self._state.tree(actor.tenant_id)
        if not tree.covers(organiser.scope_unit_id, unit_id):
            raise forbidden("超出此令牌的组织范围", "outside this token's organisation scope")

        def decide(state: HonorRollState | None, context: Context) -> list[Event]:
            return honor_rolls.record_objection(state, command, organiser.organiser_id,
                                                context.now)

        return await self._executor.execute(actor, honor_rolls.stream_id(unit_id, month),
                                            fold_honor_roll, command, decide)
