"""Liveness and the projections' progress: checkpoint, lag in events and in seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from contract.access import PUBLIC, Principal, read
from contract.cursor import format_cursor
from reports.adapters import checkpoints
from reports.adapters.schema import LIVE
from reports.service import batches
from reports.service.ports import Feed
from reports.service.projections import NAMES


class Health(msgspec.Struct, frozen=True):
    status: str


class ProjectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    projection: str
    checkpoint: str
    events_applied: int
    events_skipped: int
    # Events after the checkpoint (visible or still held back by an open transaction).
    lag_events: int
    # Age of the oldest event not yet applied; 0 when caught up.
    lag_seconds: float
    updated_at: datetime | None


class Status(msgspec.Struct, frozen=True, kw_only=True):
    projections: list[ProjectionStatus]
    unknown_event_types: dict[str, int]


class StatusController(Controller):
    tags = ("operations",)

    @get("/health", operation_id="health", opt=PUBLIC.opt(),
         summary="Liveness and database reachability")
    async def health(self, pool: NamedDependency[asyncpg.Pool]) -> Health:
        await pool.fetchval("SELECT 1")
        return Health(status="ok")

    @get("/status", operation_id="getStatus", opt=read(),
         summary="Each projection's checkpoint and lag, for the caller's tenant")
    async def status(self, pool: NamedDependency[asyncpg.Pool],
                     principal: NamedDependency[Principal],
                     feed: NamedDependency[Feed]) -> Status:
        now = datetime.now(UTC)
        result = []
        async with pool.acquire() as connection:
            tenant_id = principal.tenant_id
            points = await checkpoints.read(connection, LIVE, tenant_id)
            for name in NAMES:
                point = points.get(name)
                cursor = point.cursor if point else (0, 0)
                events, oldest = await feed.lag(tenant_id, cursor)
                result.append(ProjectionStatus(
                    tenant_id=tenant_id, projection=name,
                    checkpoint=format_cursor(cursor),
                    events_applied=point.events_applied if point else 0,
                    events_skipped=point.events_skipped if point else 0,
                    lag_events=events,
                    lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                    updated_at=point.updated_at if point else None,
                ))
        return Status(projections=result, unknown_event_types=dict(batches.unknown_types))
