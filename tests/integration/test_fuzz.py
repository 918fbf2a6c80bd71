"""Schemathesis over both services' OpenAPI (issue 9): every operation, with generated
input that fits the schema and input that does not, as a writer, a reader and no one —
never a 5xx. Bounded (a few examples per operation and mode, derandomised) to fit the run.

The services run under uvicorn in a thread of their own (schemathesis calls them with a
blocking client) against the session's database; the tenant gets a small tree, a member
so that generated ids sometimes meet something real.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis import GenerationMode

from contract.postgres import create_pool
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger
from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as create_reports

# FUZZ_EXAMPLES=30 for a deeper run by hand (the first run used 30).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))


class Served:
    """An app under uvicorn, in a thread with its own event loop."""

    def __init__(self, app: Litestar) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                     log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            threading.Event().wait(0.02)
        return f"http://127.0.0.1:{self._server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join()


async def _tokens(database_url: str, tenant: str) -> dict[str, dict[str, str]]:
    pool = await create_pool(database_url, application_name="tests", min_size=1, max_size=2)
    try:
        await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '模糊测试区')",
                           tenant)
        tokens = TokenStore(pool)
        writer = await tokens.mint(tenant, label="fuzz", role="client", can_write=True)
        reader = await tokens.mint(tenant, label="fuzz-read", role="client", can_write=False)
        # Webhook subscriptions are organisers' (a client is refused before any input).
        organiser = await tokens.mint(tenant, label="fuzz-organiser", role="organiser",
                                      can_write=True, organiser_id=uuid.uuid4())
    finally:
        await pool.close()
    return {"writer": {"Authorization": f"Bearer {writer.token}"},
            "reader": {"Authorization": f"Bearer {reader.token}"}, "none": {},
            "organiser": {"Authorization": f"Bearer {organiser.token}"}}


def _seed(url: str, writer: dict[str, str]) -> tuple[str, int]:
    """A small tree and a member: (the member's id, the last position)."""
    with httpx.Client(base_url=url, headers=writer, timeout=30) as client:
        parent = None
        for kind, name in (("district", "模糊区"), ("street", "街道"), ("community", "社区")):
            created = client.post("/api/v1/units", json={
                "kind": kind, "parent_id": parent, "name": name, "effective": "2020-01-01"})
            assert created.status_code == 201, created.text
            parent = created.json()["created_id"]
        member = client.post("/api/v1/members", json={
            "kind": "volunteer", "registered_on": "2024-01-01", "member_number": "FZ-1",
            "name": "张三", "unit_id": parent})
        assert member.status_code == 201, member.text
        return member.json()["created_id"], member.json()["positions"][-1]


@pytest.fixture(scope="module")
def services(database_url: str) -> Iterator[dict[str, Any]]:
    tenant = f"t-fuzz-{uuid.uuid4().hex[:8]}"
    callers = asyncio.run(_tokens(database_url, tenant))
    ledger = create_ledger(LedgerSettings(database_url=database_url))
    # The projector runs (a position of the tenant is applied, as in production); a short
    # read-your-writes wait, since most generated positions are no event of the tenant.
    # No webhook dispatcher: generated subscriptions would point at generated hosts.
    reports = create_reports(ReportsSettings(database_url=database_url, max_wait=0.05,
                                             run_webhooks=False))
    with Served(ledger) as ledger_url, Served(reports) as reports_url:
        member, position = _seed(ledger_url, callers["writer"])
        with httpx.Client(base_url=reports_url, headers=callers["reader"], timeout=30) as client:
            # The runner catches up every tenant of the session's database first.
            deadline = time.monotonic() + 180
            while client.get(f"/api/v1/members/{member}/hours",
                             params={"wait_for": position}).status_code != 200:
                assert time.monotonic() < deadline, "the reports did not apply the seed"
        yield {"ledger": (ledger, ledger_url), "reports": (reports, reports_url),
               "callers": callers}
    asyncio.run(_disable_webhooks(database_url, tenant))


async def _disable_webhooks(database_url: str, tenant: str) -> None:
    """Subscriptions the run created point at generated hosts: no later dispatcher of the
    session (they serve every tenant) may try them."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("UPDATE reports.webhook_subscriptions SET disabled_at = now() "
                                 "WHERE tenant_id = $1", tenant)
    finally:
        await connection.close()


def _fuzz(service: str, services: dict[str, Any]) -> None:
    app, url = services[service]
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        for mode in GenerationMode:
            # Failures are collected rather than raised: shrinking them would take long,
            # and the request that failed is what a fix needs.
            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                for caller, headers in services["callers"].items():
                    if caller == "organiser" and service != "reports":
                        continue
                    response = case.call(base_url=url, headers=headers, timeout=30)
                    if response.status_code >= 500:
                        failures.append(
                            f"{caller}: {case.method} {case.formatted_path} {case.query} "
                            f"{str(case.body)[:200]} -> {response.status_code} "
                            f"{response.text[:300]}")

            # Unsatisfiable: no input to get wrong (an operation without parameters or body).
            with contextlib.suppress(Unsatisfiable):
                call()
    assert not failures, "\n".join(failures[:20])


def test_the_ledger_never_answers_5xx(services: dict[str, Any]) -> None:
    _fuzz("ledger", services)


def test_the_reports_never_answer_5xx(services: dict[str, Any]) -> None:
    _fuzz("reports", services)
