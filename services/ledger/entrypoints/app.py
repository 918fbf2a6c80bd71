"""The ledger's Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from contract import collector, door, metrics, readiness, tracing
from contract.guard import access_guard, check_routes, schema_router
from contract.observe import observe
from contract.openapi import document
from contract.openapi_viewer import viewer_plugins
from contract.postgres import create_pool
from contract.security_headers import security_headers
from ledger import page_secrets
from ledger.adapters.directory import MemberDirectory, Organisers
from ledger.adapters.event_store import PostgresEventStore
from ledger.adapters.listings import Listings
from ledger.adapters.names import Names
from ledger.adapters.notifier import FeedNotifier
from ledger.adapters.partitions import PartitionKeeper
from ledger.adapters.reports_client import ReportsClient
from ledger.adapters.tokens import TokenStore
from ledger.config import DATABASE_ROLE, Settings
from ledger.entrypoints import pages, problems
from ledger.entrypoints.access import LedgerScopes
from ledger.entrypoints.api.activities import ActivityController
from ledger.entrypoints.api.certificates import CertificateController
from ledger.entrypoints.api.correction_requests import CorrectionRequestController
from ledger.entrypoints.api.feed import FeedController
from ledger.entrypoints.api.feed_waiting import SharedFeedReads
from ledger.entrypoints.api.health import health
from ledger.entrypoints.api.honor_rolls import HonorRollController
from ledger.entrypoints.api.imports import ImportController
from ledger.entrypoints.api.members import MemberController
from ledger.entrypoints.api.metrics import scrape
from ledger.entrypoints.api.names import NameController
from ledger.entrypoints.api.participation import ParticipationController
from ledger.entrypoints.api.tokens import TokenController
from ledger.entrypoints.api.units import UnitController
from ledger.entrypoints.dependencies import DEPENDENCIES
from ledger.handlers import Ledger


def create_app(settings: Settings | None = None,
               clock: Callable[[], datetime] | None = None,
               reports_transport: httpx.AsyncBaseTransport | None = None) -> Litestar:
    """`clock` replaces the wall clock, `reports_transport` reaches an in-process reports
    app (tests only)."""
    settings = settings or Settings.from_env()
    # The server-rendered pages (docs/pages.md): their router, templates and CSRF config.
    web = pages.build(cookie_secure=settings.cookie_secure,
                      trusted_proxies=settings.trusted_proxies)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, application_name="ledger",
                                 role=DATABASE_ROLE)
        # The coming year's partition of ledger.events exists before it is needed.
        partitions = PartitionKeeper(pool)
        await partitions.start()
        notifier = FeedNotifier(pool)
        await notifier.start()

        def appended(tenant_id: str) -> None:
            metrics.APPENDS.inc()
            notifier.appended(tenant_id)

        store = PostgresEventStore(pool, on_append=appended, grouped=settings.group_commit)
        tokens = TokenStore(pool)
        reports = ReportsClient(tokens, transport=reports_transport)
        directory = MemberDirectory(pool)
        ledger = Ledger(store, directory, Organisers(pool), rolls=reports,
                        checkin_grace=timedelta(minutes=settings.checkin_grace_minutes),
                        certificate_key=page_secrets.secret("CERTIFICATE_SECRET"),
                        together=settings.group_commit,
                        **({"clock": clock} if clock else {}))
        app.state.update(pool=pool, notifier=notifier, store=store, tokens=tokens,
                         reports=reports, ledger=ledger, directory=directory,
                         feed_reads=SharedFeedReads(store),
                         scopes=LedgerScopes(ledger), listings=Listings(pool),
                         names=Names(pool))
        collector.settle()
        try:
            yield
        finally:
            await reports.close()
            await notifier.stop()
            await partitions.stop()
            await pool.close()
            metrics.worker_exited()

    app = Litestar(
        route_handlers=[
            health, readiness.route(), metrics.route(scrape),
            UnitController, MemberController, ActivityController,
            ParticipationController, CorrectionRequestController, HonorRollController,
            CertificateController,
            FeedController, ImportController, TokenController, NameController,
            *web.route_handlers,
        ],
        template_config=web.template_config,
        csrf_config=web.csrf_config,
        dependencies=DEPENDENCIES,
        # One access rule on every route (contract.access); see check_routes below.
        guards=[access_guard],
        # The request log, the request id and the latency histogram (contract.observe).
        middleware=[observe],
        # Logging is the server's to configure (contract.serving: JSON lines); Litestar's
        # own set-up would replace it in every worker.
        logging_config=None,
        # OpenTelemetry spans only with OTEL_EXPORTER_OTLP_ENDPOINT (contract.tracing).
        plugins=tracing.plugins("ledger"),
        before_send=[security_headers()],
        lifespan=[lifespan],
        # Every error a problem details document; strict input (contract.door).
        exception_handlers=door.handlers(problems.PROBLEMS),
        before_request=door.at_the_door,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="社区志愿服务台账 Ledger API", openapi_router=schema_router(),
            render_plugins=viewer_plugins(),
            version="1.0.0",
            description="The only writer: commands append immutable events; the feed "
                        "publishes them in order and never skips one. Errors are RFC 9457 "
                        "problem details.",
        ),
    )
    app.state.update(metrics_token=settings.metrics_token,
                     migration_heads=readiness.migration_heads())
    check_routes(app)
    document(app)
    return app
