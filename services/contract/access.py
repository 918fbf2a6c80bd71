"""Who may do what: one rule for every operation of both services.

A caller is a `Principal`: a tenant (district), a role, read or write, and a scope, the
subtree of units their authority covers (None: the whole tenant). Every route declares an
`Access` rule (see `contract.guard`); the guard authenticates the caller, applies the rule's
role and write requirements, and checks that the scope covers the unit the route names in
its path. Units named in a command's body are checked by the use case with the same
`require_cover`. A route without a rule does not start (`contract.guard.check_routes`).
"""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from contract.problems import Refusal, forbidden

# member: a member acting for themself (the check-in pages); organiser: a community's
# staff, scoped to their unit; client: another community system; auditor: reads the whole
# tenant and writes nothing; service: one of our services calling another (read-only).
Role = Literal["member", "organiser", "client", "auditor", "service"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    token_id: str
    label: str
    role: Role
    organiser_id: uuid.UUID | None = None
    # None: the whole tenant (district); otherwise this unit and every unit below it.
    scope_unit_id: uuid.UUID | None = None
    can_write: bool = False
    member_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        if self.organiser_id is not None:
            return f"organiser:{self.organiser_id}"
        if self.member_id is not None:
            return f"member:{self.member_id}"
        return f"{self.role}:{self.label}"


# Which path parameter names what a route touches; the service resolves it to a unit.
Target = Literal["unit_id", "activity_id", "member_id", "stream_id"]


class Access(msgspec.Struct, frozen=True, kw_only=True):
    """A route's rule. `public`: no caller needed (health, the masked public roll).
    `session`: a server-rendered page, whose caller is the member or organiser of its
    signed session cookie; the page refuses without one, and the commands it issues meet
    the same rules in the use cases as the API's."""

    public: bool = False
    session: bool = False
    # `/metrics`: the operator's scraper, not a principal of any tenant (contract.metrics:
    # METRICS_TOKEN as a bearer, or loopback when none is set).
    metrics: bool = False
    write: bool = False
    # Roles allowed; empty: every role but member (members act through the pages only).
    roles: frozenset[str] = frozenset()
    # The whole tenant's data (the feed, a tenant-wide setting): a scoped caller is refused.
    tenant_wide: bool = False
    target: Target | None = None

    def opt(self) -> dict[str, Access]:
        return {"access": self}


PUBLIC = Access(public=True)
SESSION = Access(session=True)
METRICS = Access(metrics=True)


def read(target: Target | None = None, *, tenant_wide: bool = False,
         roles: frozenset[str] = frozenset()) -> dict[str, Access]:
    return Access(target=target, tenant_wide=tenant_wide, roles=roles).opt()


def write(target: Target | None = None, *, tenant_wide: bool = False,
          roles: frozenset[str] = frozenset()) -> dict[str, Access]:
    return Access(write=True, target=target, tenant_wide=tenant_wide, roles=roles).opt()


ORGANISERS = frozenset({"organiser"})


def permit(principal: Principal, rule: Access) -> None:
    """The role and read/write part of a rule; raises a 403 Refusal."""
    if rule.roles and principal.role not in rule.roles:
        raise Refusal("forbidden_role", "您的身份不能进行此操作",
                      f"a {principal.role} may not do this", status=403)
    if not rule.roles and principal.role == "member":
        raise forbidden("成员只能通过签到页面操作", "members act through the pages only")
    if rule.write and not principal.can_write:
        raise Refusal("read_only", "此令牌只读", "this token is read-only", status=403)
    if rule.tenant_wide and principal.scope_unit_id is not None:
        raise forbidden("只有全区范围的令牌可以读取", "only a tenant-wide token may do this")


def require_cover(covered: bool) -> None:
    """The scope part: `covered` is whether the caller's subtree holds the unit."""
    if not covered:
        raise forbidden()
