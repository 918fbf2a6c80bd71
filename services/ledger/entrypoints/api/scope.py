"""Which units a list may show: the caller's subtree, narrowed by a unit filter.

Lists only read `principal.scope_unit_id`; a filter naming a unit outside it is refused
(403 `forbidden`) rather than answered with an empty page, as a single read would be.
"""

from __future__ import annotations

import uuid

from contract.access import Principal
from contract.problems import Refusal, not_found
from ledger.domain.organisation import OrgTree


def listed_units(tree: OrgTree, principal: Principal, unit_id: uuid.UUID | None = None,
                 field: str = "unit_id") -> list[uuid.UUID] | None:
    """Unit ids to filter by (`unit_id`'s subtree, or else the caller's), or None: all."""
    if unit_id is None:
        scope = principal.scope_unit_id
        return None if scope is None else tree.subtree(scope)
    if unit_id not in tree.units:
        raise not_found("unit_not_found", "组织不存在", "no such unit", field)
    if not tree.covers(principal.scope_unit_id, unit_id):
        raise Refusal("forbidden", "超出此令牌的组织范围", "outside this token's scope",
                      field=field, status=403)
    return tree.subtree(unit_id)
