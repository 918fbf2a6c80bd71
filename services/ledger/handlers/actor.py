"""Who issues a command, what a command did, and the authority checks the use cases share.

The access guard (contract.guard) has already checked the route's rule: the caller's role,
read or write, and that their subtree holds the unit, activity or member the path names.
What a path cannot name is checked here, with the same tree: a body's parent or target
unit, and an activity's host unit once its stream is loaded.
"""

from __future__ import annotations

import uuid

import msgspec

from contract.access import Principal, Role, require_cover
from contract.problems import forbidden
from ledger.domain.activities import ActivityState, Organiser
from ledger.domain.organisation import OrgTree


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who issues a command, and with what authority."""

    tenant_id: str
    name: str
    role: Role = "client"
    source: str = "api"
    can_write: bool = False
    # Set for organisers: their authority covers scope_unit_id and everything below it.
    organiser_id: uuid.UUID | None = None
    scope_unit_id: uuid.UUID | None = None
    # Set when a member acts for themself (the check-in form).
    member_id: uuid.UUID | None = None
    request_id: str | None = None
    # Ties together the events of one business flow across commands and systems.
    correlation_id: str | None = None

    @classmethod
    def from_principal(cls, principal: Principal, request_id: str | None = None,
                       correlation_id: str | None = None) -> Actor:
        return cls(tenant_id=principal.tenant_id, name=principal.actor, role=principal.role,
                   can_write=principal.can_write, organiser_id=principal.organiser_id,
                   scope_unit_id=principal.scope_unit_id, request_id=request_id,
                   correlation_id=correlation_id or request_id)

    @property
    def scoped(self) -> bool:
        """An organiser or a subtree's token: what it records is checked against the tree."""
        return self.organiser_id is not None or self.scope_unit_id is not None

    @property
    def organiser(self) -> Organiser | None:
        if self.organiser_id is None:
            return None
        return Organiser(self.organiser_id, self.scope_unit_id)


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did: the stream, the new events' positions and ids."""

    stream_id: str
    first_version: int
    last_version: int
    positions: list[int]
    event_ids: list[uuid.UUID]
    # True when this was a retry of a command already done: nothing new was appended.
    replayed: bool = False
    # The id of what the command created, if anything (activity, member, participation).
    created_id: uuid.UUID | None = None


def require_writer(actor: Actor) -> None:
    if not actor.can_write:
        raise forbidden("此令牌只读", "this token is read-only")


def require_organiser(actor: Actor) -> Organiser:
    require_writer(actor)
    if actor.organiser is None:
        raise forbidden("只有组织者可以这样做", "only an organiser may do this")
    return actor.organiser


def require_unit_scope(actor: Actor, tree: OrgTree, unit_id: uuid.UUID | None) -> None:
    """A write to what `unit_id` names: the caller's subtree must hold it (None: the top
    of the tree, which only the tenant-wide cover)."""
    require_writer(actor)
    if unit_id is None:
        if actor.scope_unit_id is not None:
            raise forbidden("只有全区范围的令牌可以设立区级组织",
                            "only a tenant-wide token may create a top unit")
        return
    require_cover(tree.covers(actor.scope_unit_id, unit_id))


def require_self_or_writer(actor: Actor, member_id: uuid.UUID) -> None:
    """A member acts only for themself; a token needs write access."""
    if actor.member_id is not None:
        if actor.member_id != member_id:
            raise forbidden("只能为自己签到", "members may only act for themselves")
        return
    require_writer(actor)


def require_activity_scope(actor: Actor, state: ActivityState, tree: OrgTree | None) -> None:
    """A scoped caller acts on the activities its subtree hosts (a member acting for
    themself may check in anywhere they are invited)."""
    if actor.member_id is not None or actor.scope_unit_id is None:
        return
    require_cover(tree is not None and tree.covers(actor.scope_unit_id, state.host_unit_id))
