"""The reports service's Litestar application.

`create_app(settings)` wires the controllers to what the lifespan hook opens: the asyncpg
pool (and one on `FEED_DATABASE_URL` when the ledger's functions are read there); the
feed, the token verifier of the access guard and the directory of names (the ledger's
functions, or its HTTP API, as the settings choose); the scopes of the access guard; and
(unless turned off) the projection runner and the webhook dispatcher.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from litestar import Litestar
from litestar.datastructures import CacheControlHeader, State
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from contract import collector, door, metrics, readiness, tracing
from contract.access import PUBLIC
from contract.guard import access_guard, check_routes, schema_router
from contract.observe import observe
from contract.openapi import document
from contract.openapi_viewer import viewer_plugins
from contract.postgres import create_pool
from contract.security_headers import security_headers
from reports.config import DATABASE_ROLE, FEED_ROLE, Settings
from reports.entrypoints.access import ReportsScopes
from reports.entrypoints.controllers.dashboard import DashboardController
from reports.entrypoints.controllers.digest import DigestController, UnitDigestController
from reports.entrypoints.controllers.honor_rolls import HonorRollController
from reports.entrypoints.controllers.landing import LandingController
from reports.entrypoints.controllers.members import MemberController
from reports.entrypoints.controllers.public import PublicHonorRollController
from reports.entrypoints.controllers.rule_sets import RuleSetController
from reports.entrypoints.controllers.status import StatusController
from reports.entrypoints.controllers.units import UnitController
from reports.entrypoints.controllers.webhooks import WebhookController
from reports.entrypoints.dependencies import DEPENDENCIES
from reports.entrypoints.feeds import notify_dsn, open_feed, open_feed_pool
from reports.entrypoints.ledger_access import open_ledger_access
from reports.entrypoints.metrics import scrape
from reports.service.runner import ProjectionRunner
from reports.service.webhooks import Dispatcher

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, *,
               ledger_transport: httpx.AsyncBaseTransport | None = None) -> Litestar:
    """`ledger_transport` lets tests reach an in-process ledger app (httpx.ASGITransport)
    for a remote feed, its tokens and its names."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, application_name="reports",
                                 role=DATABASE_ROLE)
        try:
            async with open_feed_pool(settings, application_name="reports-feed",
                                      max_size=10) as feed_pool, \
                    open_feed(settings, feed_pool or pool, transport=ledger_transport) as feed, \
                    open_ledger_access(settings, feed_pool or pool,
                                       transport=ledger_transport) as ledger:
                runner = None
                if settings.run_projector:
                    # The ledger's NOTIFY reaches only a runner in its database; over HTTP
                    # the runner long-polls the feed instead, on a standby it polls.
                    remote = settings.remote_feed
                    runner = ProjectionRunner(
                        pool, feed, await notify_dsn(settings, feed_pool),
                        listen_role=DATABASE_ROLE if feed_pool is None else FEED_ROLE,
                        poll_interval=settings.poll_interval,
                        idle_wait=remote.wait if remote else 0,
                        lock_scope=f"tenant:{remote.tenant_id}" if remote else "all")
                    await runner.start()
                dispatcher = None
                if settings.run_webhooks:
                    dispatcher = Dispatcher(pool, feed, pacing=settings.webhooks,
                                            allowlist=settings.webhook_allowlist)
                    await dispatcher.start()
                app.state.update(pool=pool, feed=feed, tokens=ledger.tokens,
                                 directory=ledger.directory, scopes=ReportsScopes(pool),
                                 runner=runner, settings=settings)
                collector.settle()
                try:
                    yield
                finally:
                    if dispatcher is not None:
                        await dispatcher.stop()
                    if runner is not None:
                        await runner.stop()
        finally:
            await pool.close()
            metrics.worker_exited()

    def runner_state(state: State) -> str:
        return "off" if state.runner is None else state.runner.state

    app = Litestar(
        route_handlers=[readiness.route(runner_state), metrics.route(scrape),
                        StatusController, MemberController, UnitController, DashboardController,
                        HonorRollController, RuleSetController, DigestController,
                        UnitDigestController,
                        PublicHonorRollController, WebhookController, LandingController,
                        # The honor roll page's stylesheet (no inline style: see the CSP).
                        create_static_files_router(
                            path="/static", directories=[STATIC], include_in_schema=False,
                            opt=PUBLIC.opt(),
                            cache_control=CacheControlHeader(max_age=3600, public=True))],
        dependencies=DEPENDENCIES,
        guards=[access_guard],
        # The request log, the request id and the latency histogram (contract.observe).
        middleware=[observe],
        # Logging is the server's to configure (contract.serving: JSON lines); Litestar's
        # own set-up would replace it in every worker.
        logging_config=None,
        # OpenTelemetry spans only with OTEL_EXPORTER_OTLP_ENDPOINT (contract.tracing).
        plugins=tracing.plugins("reports"),
        before_send=[security_headers()],
        lifespan=[lifespan],
        # Every error a problem details document; strict input (contract.door).
        exception_handlers=door.handlers({}),
        before_request=door.at_the_door,
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(title="社区志愿服务报表 — reports", version="1.0.0",
                                     openapi_router=schema_router(),
                                     render_plugins=viewer_plugins()),
    )
    app.state.update(metrics_token=settings.metrics_token,
                     migration_heads=readiness.migration_heads())
    check_routes(app)
    document(app)
    return app
