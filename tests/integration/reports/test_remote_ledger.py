"""The reports service against a ledger in another database, reached only over its API.

The remote reports' own database holds the reports schema and nothing of the ledger's (no
`ledger` schema, so no published function either): any SQL on the ledger would fail. It
reads the feed, verifies its callers' tokens and looks up names through the ledger app,
served for real, and answers exactly what a co-located reports service answers, masked the
same way in public. A revoked token stops working within the cache window; a ledger that
cannot be reached is a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import asyncpg
import httpx
import pytest

from ledger.adapters.directory import MemberDirectory, Organisers
from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger_app
from reports.adapters import checkpoints, schema
from reports.config import RemoteFeed, Settings
from reports.entrypoints.app import create_app
from tests.integration.conftest import bearer, serving

from .conftest import ORGANISER, History, shanghai

MONTH = "2025-06"


@pytest.fixture(scope="module")
async def reports_only_url(database_url: str) -> AsyncIterator[str]:
    """A database of its own for the remote reports: the reports' revisions only (they
    start from the ledger's first, which is then dropped with the whole `ledger` schema)."""
    from infra import migrate

    server, _, _ = database_url.rpartition("/")
    name = f"reports_only_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        url = f"{server}/{name}"
        # Alembic runs its own event loop: in a thread of its own.
        await asyncio.to_thread(migrate.upgrade, url, "reports@head")
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("DROP SCHEMA ledger CASCADE")
        finally:
            await connection.close()
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def _caught_up(url: str, tenant_id: str, target: tuple[int, int]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for _ in range(400):
            if await checkpoints.reflected(connection, schema.LIVE, tenant_id) >= target:
                return
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError("the remote reports did not project the ledger's events")


async def test_the_reports_need_nothing_of_the_ledgers_database(
        history: History, pool: asyncpg.Pool, tenant: str, database_url: str,
        reports_only_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    only = await asyncpg.connect(reports_only_url)
    try:
        assert not await only.fetchval(
            "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'ledger')")
    finally:
        await only.close()

    district = await history.unit("district", None)
    community = await history.unit("community", district, "兴华南里社区")
    branch = await history.unit("branch", community, "第一支部")
    people = [await history.member(branch, name=name) for name in ("张三明", "李四", "欧阳小明")]
    erased = await history.member(branch, name="王五")
    for person, minutes in zip([*people, erased], (600, 480, 300, 360), strict=True):
        await history.served(branch, person, shanghai(2025, 6, 2), minutes)
    await MemberDirectory(pool).erase(tenant, erased)
    # Who confirmed the attendance (the History's organiser), by name in the records.
    await Organisers(pool).add(tenant, unit_id=community, name="王书记",
                               login=f"wang-{tenant}", password=None, organiser_id=ORGANISER)
    tokens = TokenStore(pool)
    feed_token = await tokens.mint(tenant, label="reports", role="client", can_write=False)
    organiser = await tokens.mint(tenant, label="王书记", role="organiser", can_write=True,
                                  scope_unit_id=community, organiser_id=ORGANISER)
    headers = bearer(organiser.token)

    co_located = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncExitStack() as stack:
        ledger_stack = AsyncExitStack()
        stack.push_async_callback(ledger_stack.aclose)
        ledger_url = await ledger_stack.enter_async_context(
            serving(create_ledger_app(LedgerSettings(database_url=database_url))))
        remote = create_app(Settings(
            database_url=reports_only_url, poll_interval=60,
            # A short long poll: the ledger's shutdown waits for it.
            remote_feed=RemoteFeed(url=ledger_url, tenant_id=tenant, token=feed_token.token,
                                   wait=1)))
        remote_url = await stack.enter_async_context(serving(remote))
        # The ledger asks the remote reports for the roll it freezes.
        monkeypatch.setenv("REPORTS_URL", remote_url)
        await stack.enter_async_context(co_located.lifespan())
        there = await stack.enter_async_context(httpx.AsyncClient(base_url=remote_url,
                                                                  timeout=30))
        here = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=co_located), base_url="http://reports"))
        ledger = await stack.enter_async_context(httpx.AsyncClient(base_url=ledger_url,
                                                                   timeout=30))

        async def caught_up() -> None:
            await history.project()
            target = await history.feed.cursor_of_position(tenant, history.last_position)
            assert target is not None
            await _caught_up(reports_only_url, tenant, target)

        async def same(path: str, **params: str) -> httpx.Response:
            ours = await there.get(path, headers=headers, params=params)
            theirs = await here.get(path, headers=headers, params=params)
            assert ours.status_code == 200, ours.text
            assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content), path
            return ours

        await caught_up()
        roll = f"/api/v1/units/{branch}/honor-rolls/{MONTH}"
        draft = (await same(roll)).json()
        assert [e["name"] for e in draft["entries"]] == ["张三明", "李四", "（已注销）", "欧阳小明"]
        for path in (f"{roll}/csv", f"{roll}/print"):
            await same(path)
        hours = (await same(f"/api/v1/members/{people[0]}/hours")).json()
        assert hours["name"] == "张三明" and hours["member_number"]
        assert (await same(f"/api/v1/members/{erased}/hours")).json()["name"] == "（已注销）"
        records = (await same(f"/api/v1/members/{people[1]}/records")).json()
        assert [r["confirmed_by_name"] for r in records["records"]] == ["王书记"]
        digest = (await same("/api/v1/employer-digest", employer="某公司",
                             quarter="2025Q2")).json()
        assert sorted(m["name"] for m in digest["members"]) == sorted(
            ["张三明", "李四", "欧阳小明", "（已注销）"])
        await same(f"/api/v1/units/{community}/activity", month=MONTH)

        # Published through the ledger, which computes the roll from the remote draft.
        published = await ledger.post("/api/v1/honor-rolls", headers=headers,
                                      json={"unit_id": str(branch), "month": MONTH})
        assert published.status_code == 201, published.text
        history.last_position = max(published.json()["positions"])
        await caught_up()
        frozen = (await same(roll)).json()
        assert frozen["status"] == "published" and frozen["entries"] == draft["entries"]
        public = f"/public/{tenant}/honor-rolls/{branch}/{MONTH}"
        masked = (await same(public)).json()
        assert [e["name"] for e in masked["entries"]] == ["张*明", "李*", "（已注销）", "欧**明"]
        page = await same(f"{public}/page")
        assert "张*明" in page.text and "张三明" not in page.text

        # Revoked at the ledger: refused here once the verification's cache has expired.
        remote.state.tokens.CACHE_SECONDS = 0.3
        await there.get(f"/api/v1/members/{people[0]}/hours", headers=headers)
        await pool.execute("UPDATE ledger.api_tokens SET revoked_at = now() "
                           "WHERE token_id = $1", organiser.principal.token_id)
        await asyncio.sleep(0.35)
        revoked = await there.get(f"/api/v1/members/{people[0]}/hours", headers=headers)
        assert revoked.status_code == 401, revoked.text

        # The ledger gone: a token cannot be verified, names cannot be looked up.
        reader = await tokens.mint(tenant, label="grid", role="client", can_write=False)
        await ledger_stack.aclose()
        for answer in (
            await there.get(f"/api/v1/members/{people[0]}/hours",
                            headers=bearer(reader.token)),
            await there.get(public),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["retry-after"] == "5"
            assert answer.json()["code"] == "ledger_unavailable"
