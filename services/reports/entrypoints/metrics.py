"""The reports' figures read at scrape time for `/metrics` (contract.metrics): each
projection's lag per tenant (events after its checkpoint, visible or held back, and the
oldest one's age), the same whichever worker answers the scrape."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar.datastructures import State
from prometheus_client.core import GaugeMetricFamily

from reports.adapters import checkpoints
from reports.adapters.schema import LIVE
from reports.service.projections import NAMES


async def scrape(state: State) -> list[GaugeMetricFamily]:
    events = GaugeMetricFamily("reports_projection_lag_events",
                               "Events after the projection's checkpoint",
                               labels=["tenant", "projection"])
    seconds = GaugeMetricFamily("reports_projection_lag_seconds",
                                "Age of the oldest event the projection has not applied",
                                labels=["tenant", "projection"])
    now = datetime.now(UTC)
    async with state.pool.acquire() as connection:
        for tenant_id in await state.feed.tenant_ids():
            points = await checkpoints.read(connection, LIVE, tenant_id)
            for name in NAMES:
                point = points.get(name)
                behind, oldest = await state.feed.lag(tenant_id, point.cursor if point
                                                      else (0, 0))
                events.add_metric([tenant_id, name], behind)
                seconds.add_metric([tenant_id, name],
                                   (now - oldest).total_seconds() if oldest else 0.0)
    return [events, seconds]
