"""The ledger's figures read at scrape time for `/metrics` (contract.metrics): per tenant,
the feed's held-back events and head, and the age of the oldest open writing transaction."""

from __future__ import annotations

from litestar.datastructures import State
from prometheus_client.core import GaugeMetricFamily


async def scrape(state: State) -> list[GaugeMetricFamily]:
    held = GaugeMetricFamily("ledger_feed_held_back_events",
                             "Committed events the feed still holds back behind an older "
                             "open transaction", labels=["tenant"])
    head = GaugeMetricFamily("ledger_feed_head_position", "The feed's last position",
                             labels=["tenant"])
    oldest = GaugeMetricFamily("ledger_oldest_open_writer_seconds",
                               "Age of the oldest open writing transaction in the cluster")
    seconds = 0.0
    for tenant_id in await state.pool.fetchval(
            "SELECT coalesce(array_agg(tenant_id ORDER BY tenant_id), '{}') "
            "FROM ledger.tenants"):
        status = await state.store.feed_status(tenant_id)
        held.add_metric([tenant_id], status["events_held_back"])
        head.add_metric([tenant_id], status["head_position"])
        seconds = status["oldest_open_writer_seconds"]
    oldest.add_metric([], seconds)
    return [held, head, oldest]
