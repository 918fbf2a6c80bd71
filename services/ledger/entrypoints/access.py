"""Where the ledger's resources sit in the tree, for the shared access guard: the unit a
path names, an activity's host unit, a member's unit, and what a stream belongs to."""

from __future__ import annotations

import uuid
from typing import Any

from contract.access import Principal, Target
from contract.guard import as_uuid
from ledger.domain import activities, honor_rolls, members, organisation
from ledger.handlers import Ledger


class LedgerScopes:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def covers(self, principal: Principal, target: Target, value: Any) -> bool:
        if principal.scope_unit_id is None:
            return True
        tenant_id = principal.tenant_id
        if target == "stream_id":
            return await self._covers_stream(principal, str(value))
        resource = as_uuid(value)
        if resource is None:
            return True  # names nothing: the route answers 404, as for anyone
        if target == "unit_id":
            return await self._covers_unit(principal, resource)
        if target == "activity_id":
            return await self._covers_activity(principal, resource)
        if target == "member_id":
            member = await self._ledger.state.member(tenant_id, resource, max_age=0)
            if member is None:
                return True
            # A member who reports nowhere (left) is the tenant's to read.
            return member.unit_id is not None and await self._covers_unit(principal,
                                                                          member.unit_id)
        return False

    async def _covers_unit(self, principal: Principal, unit_id: uuid.UUID) -> bool:
        tree = await self._ledger.state.tree(principal.tenant_id)
        return tree.covers(principal.scope_unit_id, unit_id)

    async def _covers_activity(self, principal: Principal, activity_id: uuid.UUID) -> bool:
        state = await self._ledger.state.activity(principal.tenant_id, activity_id)
        return state is None or await self._covers_unit(principal, state.host_unit_id)

    async def _covers_stream(self, principal: Principal, stream_id: str) -> bool:
        """A stream is read by whoever covers what it belongs to; the tree's own stream
        names every unit of the tenant, so only the tenant-wide read it whole."""
        kind, resource = stream_owner(stream_id)
        if kind == "activity" and resource is not None:
            return await self._covers_activity(principal, resource)
        if kind == "member" and resource is not None:
            return await self.covers(principal, "member_id", resource)
        if kind == "honor_roll" and resource is not None:
            return await self._covers_unit(principal, resource)
        return False


def stream_owner(stream_id: str) -> tuple[str, uuid.UUID | None]:
    """('activity' | 'member' | 'honor_roll' | 'organisation' | 'unknown', its id)."""
    if stream_id == organisation.STREAM:
        return "organisation", None
    for kind, prefix in (("activity", activities.STREAM_PREFIX),
                         ("member", members.STREAM_PREFIX)):
        if stream_id.startswith(prefix):
            return kind, as_uuid(stream_id[len(prefix):])
    prefix = honor_rolls.STREAM_PREFIX
    if stream_id.startswith(prefix):
        return "honor_roll", as_uuid(stream_id[len(prefix):len(prefix) + 36])
    return "unknown", None
