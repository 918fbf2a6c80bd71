"""Where the reports' resources sit in the tree, for the shared access guard: a unit or a
member named in a path is covered when it lies in the caller's subtree (as the tree is
now in the read models)."""

from __future__ import annotations

from typing import Any

import asyncpg

from contract.access import Principal, Target
from contract.guard import as_uuid
from reports.adapters import unit_reports


class ReportsScopes:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def covers(self, principal: Principal, target: Target, value: Any) -> bool:
        resource = as_uuid(value)
        if principal.scope_unit_id is None:
            return True
        if resource is None:
            return True  # names nothing: the route answers 404, as for anyone
        async with self._pool.acquire() as connection:
            if target == "unit_id":
                return await unit_reports.within(connection, principal.tenant_id,
                                                 principal.scope_unit_id, resource)
            if target == "member_id":
                return await unit_reports.member_within(connection, principal.tenant_id,
                                                        principal.scope_unit_id, resource)
        return False
