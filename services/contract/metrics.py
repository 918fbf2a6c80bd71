"""Prometheus metrics of both services, and the `/metrics` route.

Counters and histograms live in prometheus-client's default registry. With several workers
(`WORKERS` > 1, `contract.serving`) every worker writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` and `/metrics`, answered by whichever worker the scrape reaches,
adds them up across the live workers (prometheus-client's multiprocess mode). Figures read
from the database at scrape time (the feed's held-back events, the projections' lag) are
the same whichever worker answers, so they are computed then and never stored.

Who may scrape: `METRICS` (`contract.access`), checked by the one access guard: with
`METRICS_TOKEN` set, a bearer of that token; without it, only a caller on loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contract.access import METRICS

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "Time from a request's arrival to its answer's end",
    ["operation_id"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REFUSALS = Counter("http_refusals", "Requests answered with a problem, by its code",
                   ["code", "status"])
APPENDS = Counter("ledger_appends", "Commands whose events were appended (committed)")
CONFLICTS = Counter("ledger_append_conflicts",
                    "Appends that found their stream at another version than expected")
PROJECTED = Counter("reports_projected_events", "Events folded into the live read models")
RUNNER_ACTIVE = Gauge("reports_projection_runner_active",
                      "1 while this process holds the projection runner's lock",
                      multiprocess_mode="livesum")


class Snapshot(Collector):
    """Metric families computed at scrape time."""

    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self._families


def _base_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def worker_exited() -> None:
    """A worker's lifespan ends: its live gauges no longer count (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())


def allowed(client_host: str | None, authorization: str, token: str | None) -> bool:
    """The `METRICS` rule: the configured token as a bearer, or without one, loopback."""
    if token:
        scheme, _, sent = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            sent.strip().encode(), token.encode())
    try:
        return client_host is not None and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False


def route(scrape: Callable[[State], Awaitable[list[GaugeMetricFamily]]]) -> Any:
    """`GET /metrics`; `scrape` reads the service's database-side figures."""

    @get("/metrics", operation_id="metrics", opt=METRICS.opt(), tags=["health"],
         media_type=CONTENT_TYPE_LATEST,
         summary="Prometheus metrics (text exposition format)",
         description="With METRICS_TOKEN set: that token as a bearer; otherwise loopback "
                     "callers only (docs/operations.md).")
    async def metrics(state: State) -> Response[bytes]:
        families = await scrape(state)
        body = generate_latest(_base_registry())
        snapshot = CollectorRegistry(auto_describe=False)
        snapshot.register(Snapshot(families))
        return Response(body + generate_latest(snapshot), media_type=CONTENT_TYPE_LATEST)

    return metrics
