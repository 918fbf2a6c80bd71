"""Loading the demo district into a tenant: events, directory, organisers, tokens; twice."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest

from infra.demo import load as demo
from infra.demo.__main__ import build_parser, load_demo
from infra.demo.generator import DEMO_PASSWORD, DEMO_PIN, build, streams
from ledger.adapters.directory import MemberDirectory, Organisers
from ledger.adapters.event_store import PostgresEventStore
from ledger.adapters.tokens import TokenStore


async def test_demo_loads_verifies_and_reloads_as_a_no_op(pool: asyncpg.Pool,
                                                          tenant: str) -> None:
    plan = build("demo", seed=1)
    generated = sum(len(events) for _, _, events in streams(plan))
    lines: list[str] = []

    summary = await demo.load(pool, tenant, scale="demo", seed=1, progress=lines.append)

    assert (summary.appended, summary.skipped) == (generated, 0)
    assert lines  # progress was reported
    count = "SELECT count(*) FROM ledger.events WHERE tenant_id = $1"
    assert await pool.fetchval(count, tenant) == generated
    # Tamper evidence holds on a sample of every kind of stream.
    store = PostgresEventStore(pool)
    sample = await pool.fetch(
        """(SELECT DISTINCT stream_id FROM ledger.events WHERE tenant_id = $1
               AND stream_id LIKE 'activity-%' ORDER BY stream_id LIMIT 8)
           UNION ALL
           (SELECT DISTINCT stream_id FROM ledger.events WHERE tenant_id = $1
               AND stream_id LIKE 'member-%' ORDER BY stream_id LIMIT 8)""",
        tenant,
    )
    for stream_id in ["organisation", *(row["stream_id"] for row in sample)]:
        assert await store.verify_chain(tenant, stream_id) is None, stream_id
    # Directory, organisers and tokens work with the documented credentials.
    member = plan.members[0]
    directory = MemberDirectory(pool)
    assert await directory.verify_pin(tenant, member.member_number, DEMO_PIN) == member.member_id
    featured = plan.featured
    assert featured is not None and featured.organiser is not None
    account = await Organisers(pool).authenticate(tenant, featured.organiser.login,
                                                  DEMO_PASSWORD)
    assert account is not None and account.unit_id == featured.unit.unit_id
    tokens = TokenStore(pool)
    organiser = await tokens.verify(summary.organiser_token)
    client = await tokens.verify(summary.client_token)
    assert organiser is not None and organiser.can_write
    assert organiser.scope_unit_id == featured.unit.unit_id
    assert client is not None and not client.can_write and client.scope_unit_id is None
    assert any(summary.organiser_token in line for line in demo.describe(summary))

    again = await demo.load(pool, tenant, scale="demo", seed=1)

    assert (again.appended, again.skipped) == (0, generated)
    assert await pool.fetchval(count, tenant) == generated
    assert await pool.fetchval(
        "SELECT count(*) FROM ledger.member_directory WHERE tenant_id = $1", tenant
    ) == len(plan.members)
    assert await pool.fetchval(
        "SELECT count(*) FROM ledger.organisers WHERE tenant_id = $1", tenant
    ) == len(plan.organisers)


async def test_load_demo_command_prints_logins_and_tokens(
        database_url: str, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    tenant_id = f"cli-{uuid.uuid4().hex[:8]}"
    args = build_parser().parse_args(["--tenant", tenant_id, "--seed", "1"])

    assert await load_demo(args) == 0

    out = capsys.readouterr().out
    assert f"tenant: {tenant_id} (新罗区)" in out
    assert "xinghua" in out and DEMO_PASSWORD in out and DEMO_PIN in out
    # Whole tokens (a random secret may itself contain "lt_").
    assert len(re.findall(r"(?:^|\s)lt_[0-9a-f]{16}_\S+", out)) == 2
    generated = sum(len(events) for _, _, events in streams(build("demo", seed=1)))
    assert await pool.fetchval(
        "SELECT count(*) FROM ledger.events WHERE tenant_id = $1", tenant_id) == generated
