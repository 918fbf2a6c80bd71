"""Read-your-writes: wait (bounded) until the projections have applied a given position.

A client that just appended holds the event's position (or its feed cursor); passing it as
`wait_for` makes the report wait until every projection of the tenant has applied it.
"""

from __future__ import annotations

import asyncio

import asyncpg

from contract.cursor import Cursor, format_cursor, parse_position
from reports.adapters import checkpoints
from reports.adapters.schema import LIVE
from reports.service.ports import Feed
from reports.service.runner import Progress

# Between checks when the runner is in another process (no in-process progress signal).
RECHECK_SECONDS = 0.05


class NotReached(Exception):
    def __init__(self, reached: Cursor) -> None:
        super().__init__(f"position not applied yet; at {format_cursor(reached)}")
        self.reached = reached


class UnknownPosition(Exception):
    """No event of the tenant has that position (or that cursor): it will never be applied,
    so waiting longer cannot help."""


async def wait_until_applied(pool: asyncpg.Pool, feed: Feed, tenant_id: str, target: str,
                             progress: Progress | None, max_wait: float) -> Cursor:
    """Raises ValueError for a malformed target, NotReached when max_wait runs out, and
    UnknownPosition then if the ledger has no such event for the tenant."""
    wanted = parse_position(target)
    cursor = None if isinstance(wanted, int) else wanted
    deadline = asyncio.get_running_loop().time() + max_wait
    while True:
        # A position's cursor is known once its event has committed, and never changes.
        if cursor is None:
            cursor = await feed.cursor_of_position(tenant_id, wanted)
        async with pool.acquire() as connection:
            reached = await checkpoints.reflected(connection, LIVE, tenant_id)
        if cursor is not None and reached >= cursor:
            return reached
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            if cursor is None or await feed.cursor_of_position(tenant_id, cursor[1]) != cursor:
                raise UnknownPosition(target)
            raise NotReached(reached)
        if progress is not None:
            await progress.wait(min(remaining, RECHECK_SECONDS))
        else:
            await asyncio.sleep(min(remaining, RECHECK_SECONDS))
