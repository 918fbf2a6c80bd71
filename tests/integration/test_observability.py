"""Metrics, readiness and the request log of both services (contract.metrics,
contract.readiness, contract.observe), in process on the real database."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

import asyncpg
import httpx
import pytest

from contract import readiness
from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as create_reports_app
from tests.integration.conftest import Clock, Community, register, schedule, serving


def _value(text: str, sample: str) -> float:
    """A sample's value; `sample` is its name and labels exactly as exposed."""
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_ledger_metrics_count_appends_refusals_and_latency(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock) -> None:
    c = community
    before = (await ledger_client.get("/metrics")).text
    member = await register(ledger_client, c, "OBS-1")
    activity = await schedule(ledger_client, c, clock.now - timedelta(minutes=5))
    path = f"/api/v1/activities/{activity}/check-ins"
    assert (await ledger_client.post(path, headers=c.admin,
                                     json={"member_id": str(member)})).status_code == 201
    twice = await ledger_client.post(path, headers=c.admin, json={"member_id": str(member)})
    assert twice.status_code == 409
    code = twice.json()["code"]
    strict = await ledger_client.post(path, headers=c.admin, json={"member_id": 5})
    assert strict.status_code in (400, 422)
    after = (await ledger_client.get("/metrics")).text
    assert after.startswith("# HELP") and "ledger_feed_held_back_events{tenant=" in after
    # register (two commands at most) + schedule + one check-in; the refused ones append none.
    appended = _value(after, "ledger_appends_total") - _value(before, "ledger_appends_total")
    assert 3 <= appended <= 4
    refused = f'http_refusals_total{{code="{code}",status="409"}}'
    assert _value(after, refused) - _value(before, refused) == 1
    checkins = 'http_request_duration_seconds_count{operation_id="checkIn"}'
    assert _value(after, checkins) - _value(before, checkins) == 3
    assert _value(after, f'ledger_feed_head_position{{tenant="{c.tenant}"}}') > 0


async def test_each_request_logs_one_line_with_its_id(
        ledger_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="requests"):
        answer = await ledger_client.get("/health", headers={"X-Request-Id": "probe-42"})
    assert answer.headers["x-request-id"] == "probe-42"
    lines = [r for r in caplog.records if r.name == "requests"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.request_id, line.operation_id, line.status) == ("probe-42", "health", 200)
    assert line.duration_ms >= 0
    # An id that is no id (too long, odd characters) is replaced, never echoed.
    answer = await ledger_client.get("/health", headers={"X-Request-Id": "x" * 500})
    assert answer.headers["x-request-id"] != "x" * 500


async def test_ledger_ready_and_migrations_not_at_head(ledger_client: httpx.AsyncClient,
                                                       pool: asyncpg.Pool) -> None:
    answer = await ledger_client.get("/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ready": True, "database": True, "migrations_at_head": True}
    # Code newer than the database: a revision it does not have yet.
    behind = await readiness.check(pool, readiness.migration_heads() | {"9999"})
    assert not behind.ready and behind.database and not behind.migrations_at_head
    assert "9999" in (behind.detail or "")


async def test_ready_answers_503_while_the_database_is_away(relay) -> None:
    pool = await asyncpg.create_pool(relay.url, min_size=1, max_size=1)
    try:
        await relay.cut()
        result = await readiness.check(pool, readiness.migration_heads())
        assert (result.ready, result.database) == (False, False)
    finally:
        await relay.restore()
        pool.terminate()


async def test_reports_metrics_and_ready_show_the_runner(database_url: str,
                                                        tenant: str) -> None:
    app = create_reports_app(ReportsSettings(database_url=database_url, poll_interval=0.05))
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(500):
            ready = (await client.get("/ready")).json()
            if ready["projection_runner"] != "standby":
                break
            await asyncio.sleep(0.02)
        assert ready["projection_runner"] == "active" and ready["ready"], ready
        text = (await client.get("/metrics")).text
        assert "reports_projection_runner_active 1.0" in text
        assert re.search(rf'^reports_projection_lag_events{{projection="\w+",tenant="{tenant}"}} ',
                         text, re.MULTILINE)
        assert "reports_projected_events_total" in text
    assert app.state.runner.state == "stopped"
