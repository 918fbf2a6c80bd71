"""Names of members and organisers by id: what a service showing people needs of the
directory (the reports' honor rolls, hours and records, when it runs in another database).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from contract.access import Principal, read
from ledger.adapters.names import MemberName, Names, OrganiserName
from ledger.handlers import Ledger

# 1,000 ids of each kind at most per request (about 39 KB of JSON each).
MAX_IDS = 1000
Ids = Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_IDS)]


class NameLookup(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    member_ids: Ids = []
    organiser_ids: Ids = []


class NameList(msgspec.Struct, frozen=True, kw_only=True):
    # Only the ids found (and in the caller's scope), in no particular order.
    members: list[MemberName]
    organisers: list[OrganiserName]


class NameController(Controller):
    path = "/api/v1/names"
    tags = ("members",)

    # A read sent as POST: a roll's members are too many ids for a URL.
    @post("/", operation_id="lookupNames", opt=read(), status_code=200,
          summary="Member numbers and names, and organiser names, by id",
          description="Up to 1,000 `member_ids` and 1,000 `organiser_ids`. A member's "
                      "`member_number` and `name` are null once their data were erased. A "
                      "token scoped to a unit is answered only for the members reported to "
                      "that unit's subtree and the organisers of it; ids not found, or out "
                      "of scope, are left out.")
    async def lookup(self, ledger: NamedDependency[Ledger], names: NamedDependency[Names],
                     principal: NamedDependency[Principal],
                     data: JSONBody[NameLookup]) -> NameList:
        tenant_id, scope = principal.tenant_id, principal.scope_unit_id
        units = None if scope is None else (
            await ledger.state.tree(tenant_id, max_age=0)).subtree(scope)
        return NameList(
            members=await names.members(tenant_id, data.member_ids, units),
            organisers=await names.organisers(tenant_id, data.organiser_ids, units),
        )
