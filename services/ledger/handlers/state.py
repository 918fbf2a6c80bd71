"""The current state a decision consults, folded from the streams and cached in process.

A command's own stream is loaded by the executor (any cached state will do: the expected
version catches what was missed). What a decision only consults — the organisation tree,
the member, the member's other activities — may be a few seconds old.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contract.events import Event, HonorRollObjectionRecorded, HonorRollPublished
from ledger.domain import activities, members, organisation
from ledger.domain.activities import ActivityState, Busy
from ledger.domain.honor_rolls import HonorRollState
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree
from ledger.handlers.ports import EventStore
from ledger.handlers.state_cache import Loaded, StateCache

# How stale the member and the tree consulted by a decision may be (seconds): a member who
# just left, or a unit just dissolved, may still be accepted for this long.
CONSULTED_MAX_AGE = 5.0


def fold_tree(state: OrgTree | None, event: Event) -> OrgTree:
    tree = state or OrgTree()
    tree.apply(event)
    return tree


def fold_honor_roll(state: HonorRollState | None, event: Event) -> HonorRollState | None:
    if isinstance(event, HonorRollPublished):
        return HonorRollState(event.unit_id, event.month, event.publicity_ends)
    if state is not None and isinstance(event, HonorRollObjectionRecorded):
        state.objections += 1
    return state


class CurrentState:
    def __init__(self, store: EventStore, cache: StateCache) -> None:
        self._store = store
        self.cache = cache

    async def tree(self, tenant_id: str, max_age: float = CONSULTED_MAX_AGE) -> OrgTree:
        loaded = await self.cache.load(tenant_id, organisation.STREAM, fold_tree, max_age)
        return loaded.state or OrgTree()

    async def member(self, tenant_id: str, member_id: uuid.UUID,
                     max_age: float = CONSULTED_MAX_AGE) -> MemberState | None:
        loaded = await self.cache.load(tenant_id, members.stream_id(member_id), members.apply,
                                       max_age)
        return loaded.state

    async def activity(self, tenant_id: str, activity_id: uuid.UUID) -> ActivityState | None:
        return (await self.activity_with_version(tenant_id, activity_id)).state

    async def activity_with_version(self, tenant_id: str, activity_id: uuid.UUID) -> Loaded[Any]:
        return await self.cache.load(tenant_id, activities.stream_id(activity_id),
                                     activities.apply)

    async def honor_roll(self, tenant_id: str, stream_id: str) -> HonorRollState | None:
        return (await self.cache.load(tenant_id, stream_id, fold_honor_roll)).state

    async def busy(self, tenant_id: str, member_id: uuid.UUID, activity_id: uuid.UUID,
                   at: datetime) -> list[Busy]:
        """Where the member was checked in elsewhere around `at` (the overlap rule)."""
        span = activities.MAX_DURATION
        streams = await self._store.member_activity_streams(tenant_id, member_id, at - span,
                                                            at + span)
        spans: list[Busy] = []
        for stream in streams:
            if stream == activities.stream_id(activity_id):
                continue
            loaded = await self.cache.load(tenant_id, stream, activities.apply)
            if loaded.state is not None:
                spans.extend(activities.busy_spans(loaded.state, member_id))
        return spans
