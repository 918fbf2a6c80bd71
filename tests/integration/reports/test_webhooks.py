"""Webhook delivery against a real receiver (the reference one, over HTTP on loopback):
in feed order, only the subscription's subtree and types, retried on 500 with backoff,
deduped, replayed from a cursor, and a dispatcher killed mid-delivery — as a cancelled
task and as a killed `reports webhooks` process — loses nothing and sends nothing out of
order; the only duplicate is the delivery that was in flight, which the receiver dedupes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import ssl
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from contract.calendar import SHANGHAI
from contract.cursor import START, format_cursor
from contract.events import HonorRollPublished
from ledger.adapters.tokens import TokenStore
from reports.adapters import webhook_store
from reports.config import Settings, Webhooks
from reports.domain.webhooks import Allowlist
from reports.entrypoints.app import create_app
from reports.service.rebuild import rebuild
from reports.service.reminders import make_reminders
from reports.service.webhooks import Dispatcher, horizon
from reports.webhook_receiver import Receiver

from .conftest import ORGANISER, History, shanghai

SECRET = "whsec_integration-test-secret"
FAST = Webhooks(poll_interval=0.05, backoff_base=0.2, backoff_cap=0.5, timeout=5)
# The reference receiver listens on loopback: an internal address, reached only when listed.
LOOPBACK = Allowlist.parse("127.0.0.1")
DAY = shanghai(2025, 3, 1)


@dataclass
class Gateway:
    """The reference receiver with levers: fail the next N handlings, or hold one event
    until released. `arrivals`: every delivery's id as it arrived (with the answer);
    `handled`: the events handled, once each, in order."""

    url: str = ""
    arrivals: list[tuple[str, int, float]] = field(default_factory=list)
    # The Host header of every delivery, as it arrived.
    hosts: list[str] = field(default_factory=list)
    handled: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    hold_type: str | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    # What checks and dedupes; replaced to take another subscription's secret.
    receiver: Receiver | None = None

    def handle(self, event: dict[str, Any], _db: sqlite3.Connection) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the gateway is down")
        if event["type"] == self.hold_type and not self.release.is_set():
            self.held.set()
            self.release.wait(30)
        self.handled.append(event)

    def ids(self) -> list[str]:
        return [e["id"] for e in self.handled]


@contextmanager
def receiving(tls: ssl.SSLContext | None = None) -> Iterator[Gateway]:
    """The reference receiver on loopback; over TLS with `tls` (a server context)."""
    test = Gateway()
    reference = Receiver(SECRET, test.handle)

    def receive(headers: dict[str, str], body: bytes) -> tuple[int, str]:
        status, text = test.receiver.receive(headers, body)
        test.arrivals.append((headers.get("Webhook-Id", ""), status, time.monotonic()))
        test.hosts.append(headers.get("Host", ""))
        return status, text

    test.receiver = Receiver(SECRET, test.handle)
    reference.receive = receive  # type: ignore[method-assign]
    server = reference.server("127.0.0.1", 0)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    test.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield test
    finally:
        test.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Gateway]:
    with receiving() as test:
        yield test


@dataclass
class Tree:
    community: uuid.UUID
    branch: uuid.UUID
    other: uuid.UUID


async def _tree(history: History) -> Tree:
    district = await history.unit("district", None, "测试区委")
    community = await history.unit("community", district, "兴华南里社区")
    branch = await history.unit("branch", community, "一支部")
    other = await history.unit("branch", community, "二支部")
    return Tree(community, branch, other)


@asynccontextmanager
async def subscription(pool: asyncpg.Pool, history: History, unit: uuid.UUID, url: str,
                       types: list[str]) -> AsyncIterator[webhook_store.Subscription]:
    """From the start of the feed; disabled afterwards, so that no later test's
    dispatcher (they see every tenant) tries a receiver that is gone."""
    async with pool.acquire() as connection:
        created = await webhook_store.create(
            connection, history.tenant_id, unit_id=unit, url=url, event_types=types,
            secret=SECRET, description="测试", created_by="test", cursor=START)
    try:
        yield created
    finally:
        async with pool.acquire() as connection:
            await webhook_store.disable(connection, created)


async def _stored(pool: asyncpg.Pool, sub: webhook_store.Subscription
                  ) -> webhook_store.Subscription:
    async with pool.acquire() as connection:
        found = await webhook_store.refresh(connection, sub)
    assert found is not None
    return found


async def _drain(pool: asyncpg.Pool, history: History, sub: webhook_store.Subscription,
                 dispatcher: Dispatcher, receiver: Gateway, count: int) -> None:
    """Run passes until `count` events were handled and the cursor reached the horizon."""
    for _ in range(400):
        await dispatcher.run_once()
        async with pool.acquire() as connection:
            until = await horizon(connection, history.tenant_id)
        if len(receiver.handled) >= count and (await _stored(pool, sub)).cursor == until:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"handled {len(receiver.handled)} of {count}")


async def _log(pool: asyncpg.Pool, sub: webhook_store.Subscription) -> list[asyncpg.Record]:
    async with pool.acquire() as connection:
        rows, _ = await webhook_store.deliveries(connection, sub, limit=500, offset=0)
    return rows[::-1]


async def _branch_history(history: History, tree: Tree) -> list[tuple[str, uuid.UUID]]:
    """Events in both branches; the ones of `tree.branch` the subscription wants, as
    (type, the id the event is about), in the order appended."""
    expected: list[tuple[str, uuid.UUID]] = []
    member = await history.member(tree.branch)
    stranger = await history.member(tree.other)
    expected.append(("MemberReported", member))
    for i in range(3):
        mine = await history.activity(tree.branch, DAY + timedelta(days=i), title=f"清扫{i}")
        await history.activity(tree.other, DAY + timedelta(days=i), title="别的支部")
        expected.append(("ActivityScheduled", mine))
        participation = await history.check_in(mine, member, DAY + timedelta(days=i))
        expected.append(("CheckedIn", participation))
        await history.check_out(mine, member, participation, DAY + timedelta(days=i, hours=1))
    theirs = await history.activity(tree.other, DAY, title="别的支部")
    await history.check_in(theirs, stranger, DAY)
    return expected


TYPES = ["ActivityScheduled", "CheckedIn", "MemberReported"]


def _about(event: dict[str, Any]) -> tuple[str, uuid.UUID]:
    data = event["data"]
    key = {"MemberReported": "member_id", "ActivityScheduled": "activity_id",
           "CheckedIn": "participation_id"}[event["type"]]
    return event["type"], uuid.UUID(data[key])


async def test_delivers_the_subtrees_events_of_its_types_in_feed_order(
        pool, history, receiver) -> None:
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        try:
            await _drain(pool, history, sub, dispatcher, receiver, len(expected))
        finally:
            await dispatcher.stop()
        assert [_about(e) for e in receiver.handled] == expected
        cursors = [e["cursor"] for e in receiver.handled]
        assert cursors == sorted(cursors, key=lambda c: tuple(map(int, c.split("-"))))
        assert all(e["subscription_id"] == str(sub.subscription_id) for e in receiver.handled)
        log = await _log(pool, sub)
        assert [r["event_id"] for r in log] == receiver.ids()
        assert all(r["delivered"] and r["status_code"] == 200 and r["attempt"] == 1
                   and r["latency_ms"] >= 0 and r["error"] is None for r in log)
        # Nothing more to send: a pass after the horizon attempts nothing.
        assert await Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK).run_once() == 0


async def test_a_wrong_secret_is_refused_and_retried(pool, history, receiver) -> None:
    tree = await _tree(history)
    await history.member(tree.branch)
    await history.project()
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        await pool.execute("""UPDATE reports.webhook_subscriptions SET secret = 'whsec_wrong'
                              WHERE tenant_id = $1 AND subscription_id = $2""",
                           history.tenant_id, sub.subscription_id)
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        try:
            assert await dispatcher.run_once() == 1
        finally:
            await dispatcher.stop()
        assert receiver.handled == []
        (row,) = await _log(pool, sub)
        assert row["status_code"] == 401 and not row["delivered"]
        stored = await _stored(pool, sub)
        # Past the tree's events (not of its types), not past the member's.
        assert START < stored.cursor < await _horizon(pool, history)
        assert stored.attempts == 1 and stored.next_attempt_at is not None


async def test_retries_on_500_with_backoff_and_holds_the_next_back(
        pool, history, receiver) -> None:
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()
    receiver.fail_next = 3
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        await dispatcher.start()
        try:
            for _ in range(500):
                if len(receiver.handled) == len(expected):
                    break
                await asyncio.sleep(0.02)
        finally:
            await dispatcher.stop()
        assert [_about(e) for e in receiver.handled] == expected
        first = receiver.handled[0]["id"]
        # The first event four times (three 500s, then 200), and nothing else meanwhile.
        assert [(i, s) for i, s, _ in receiver.arrivals[:5]] == [
            (first, 500), (first, 500), (first, 500), (first, 200),
            (receiver.handled[1]["id"], 200)]
        log = await _log(pool, sub)
        # Between attempts 0.2 s, 0.4 s, then the cap 0.5 s (plus up to a poll, 0.05 s, and
        # the load of a shared machine), as the dispatcher and as the receiver saw them.
        tried = [r["attempted_at"] for r in log[:4]]
        arrived = [t for _, _, t in receiver.arrivals[:4]]
        for i, wanted in enumerate((0.2, 0.4, 0.5)):
            waited = (tried[i + 1] - tried[i]).total_seconds()
            assert wanted <= waited <= wanted + 0.4, (i, waited)
            assert wanted - 0.1 <= arrived[i + 1] - arrived[i] <= wanted + 0.5
        assert [(r["attempt"], r["status_code"], r["delivered"]) for r in log[:4]] == [
            (1, 500, False), (2, 500, False), (3, 500, False), (4, 200, True)]
        assert all(r["error"] for r in log[:3])
        assert (await _stored(pool, sub)).attempts == 0


async def test_a_replay_from_a_cursor_delivers_again_and_the_receiver_dedupes(
        pool, history, receiver) -> None:
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        try:
            await _drain(pool, history, sub, dispatcher, receiver, len(expected))
            handled = list(receiver.ids())
            middle = receiver.handled[2]["cursor"]
            async with pool.acquire() as connection:
                txid, position = (int(x) for x in middle.split("-"))
                await webhook_store.replay(connection, await _stored(pool, sub),
                                           (txid, position))
            before = len(receiver.arrivals)
            await _drain(pool, history, sub, dispatcher, receiver, len(expected))
        finally:
            await dispatcher.stop()
        again = [i for i, _, _ in receiver.arrivals[before:]]
        assert again == handled[3:]  # everything after the cursor, in order, once more
        assert receiver.ids() == handled  # handled once each
        assert [r["event_id"] for r in await _log(pool, sub)] == handled + handled[3:]


async def _kill_case(history: History, tree: Tree) -> list[tuple[str, uuid.UUID]]:
    expected = await _branch_history(history, tree)
    await history.project()
    return expected


def _check_after_kill(receiver: Gateway, expected: list[tuple[str, uuid.UUID]],
                      held_id: str) -> None:
    # Nothing lost, nothing out of order, each handled once.
    assert [_about(e) for e in receiver.handled] == expected
    arrived = [i for i, _, _ in receiver.arrivals]
    # The in-flight delivery is the only one that arrived twice, and it arrived again
    # before anything after it.
    assert [i for i in set(arrived) if arrived.count(i) > 1] == [held_id]
    again = len(arrived) - 1 - arrived[::-1].index(held_id)
    assert arrived[:again] == receiver.ids()[:receiver.ids().index(held_id) + 1]


async def test_a_dispatcher_cancelled_mid_delivery_loses_nothing(
        pool, history, receiver) -> None:
    tree = await _tree(history)
    expected = await _kill_case(history, tree)
    receiver.hold_type = "CheckedIn"  # the first check-in: the third event
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        first = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        await first.start()
        assert await asyncio.to_thread(receiver.held.wait, 20)
        await first.stop()  # the request is on the wire, its answer never read
        receiver.release.set()
        for _ in range(100):
            if receiver.handled and receiver.handled[-1]["type"] == "CheckedIn":
                break
            await asyncio.sleep(0.02)
        held_id = receiver.handled[-1]["id"]
        assert (await _stored(pool, sub)).cursor != START
        second = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        try:
            await _drain(pool, history, sub, second, receiver, len(expected))
        finally:
            await second.stop()
        _check_after_kill(receiver, expected, held_id)
        log = await _log(pool, sub)
        # The killed attempt left no log row: the cursor moves only with one.
        assert [r["event_id"] for r in log] == receiver.ids()


async def test_a_killed_webhooks_process_loses_nothing(
        pool, history, receiver, database_url) -> None:
    tree = await _tree(history)
    expected = await _kill_case(history, tree)
    receiver.hold_type = "CheckedIn"
    env = {**os.environ, "DATABASE_URL": database_url, "WEBHOOK_POLL_INTERVAL": "0.05",
           "WEBHOOK_BACKOFF_BASE": "0.2", "WEBHOOK_BACKOFF_CAP": "0.5",
           "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    command = [sys.executable, "-m", "reports.entrypoints.cli", "webhooks"]
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        process = await asyncio.create_subprocess_exec(*command, env=env)
        try:
            assert await asyncio.to_thread(receiver.held.wait, 60)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        receiver.release.set()
        for _ in range(100):
            if receiver.handled and receiver.handled[-1]["type"] == "CheckedIn":
                break
            await asyncio.sleep(0.02)
        held_id = receiver.handled[-1]["id"]
        restarted = await asyncio.create_subprocess_exec(*command, "--once", env=env)
        assert await asyncio.wait_for(restarted.wait(), 60) == 0
        _check_after_kill(receiver, expected, held_id)
        assert (await _stored(pool, sub)).cursor == await _horizon(pool, history)


async def _horizon(pool: asyncpg.Pool, history: History):
    async with pool.acquire() as connection:
        return await horizon(connection, history.tenant_id)


async def test_reminders_go_out_once_even_when_made_again(pool, history, receiver) -> None:
    tree = await _tree(history)
    now = datetime.now(UTC).replace(microsecond=0)
    member = await history.member(tree.branch)
    soon = await history.activity(tree.branch, now + timedelta(hours=2), title="明早巡逻")
    await history.activity(tree.branch, now + timedelta(days=3), title="下周")  # not yet
    await history.activity(tree.other, now + timedelta(hours=2), title="别的支部")
    ended = await history.activity(tree.branch, now - timedelta(hours=3), hours=2)
    await history.check_in(ended, member, now - timedelta(hours=3))
    today = now.astimezone(SHANGHAI).date()
    await history.append(f"honor-roll-{tree.branch}-2025-02", HonorRollPublished(
        unit_id=tree.branch, month="2025-02", rule_set="standard", rule_version=1,
        computed_at_position="0-0", entries=[], published_by=ORGANISER,
        published_at=now - timedelta(days=6), publicity_ends=today))
    await history.project()
    types = ["reminder.activity_upcoming", "reminder.confirmation_pending",
             "reminder.publicity_ending"]
    async with subscription(pool, history, tree.branch, receiver.url, types) as sub:
        async with pool.acquire() as connection:
            # Made before the subscription: a new subscription starts after them.
            await make_reminders(connection, history.tenant_id, now)
        async with pool.acquire() as connection:
            await webhook_store.replay(connection, sub, START)
            await connection.execute(
                """UPDATE reports.webhook_subscriptions SET reminder_seq = 0
                   WHERE tenant_id = $1 AND subscription_id = $2""",
                history.tenant_id, sub.subscription_id)
        for _ in range(3):  # three "restarts": each makes the reminders again
            dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
            try:
                while await dispatcher.run_once():
                    pass
            finally:
                await dispatcher.stop()
        by_type = {e["type"]: e["data"] for e in receiver.handled}
        assert len(receiver.handled) == 3 == len(receiver.arrivals)
        assert by_type["reminder.activity_upcoming"]["activity_id"] == str(soon)
        assert by_type["reminder.activity_upcoming"]["title"] == "明早巡逻"
        assert by_type["reminder.confirmation_pending"] == {
            "activity_id": str(ended), "host_unit_id": str(tree.branch), "title": "环境整治",
            "ends_at": by_type["reminder.confirmation_pending"]["ends_at"], "unconfirmed": 1}
        assert by_type["reminder.publicity_ending"] == {
            "unit_id": str(tree.branch), "month": "2025-02", "publicity_ends": str(today)}
        assert all(e["cursor"] is None for e in receiver.handled)


# --- the admin API ----------------------------------------------------------------------


@pytest.fixture
async def client(database_url):
    app = create_app(Settings(database_url=database_url, run_projector=False,
                              run_webhooks=False))
    async with AsyncTestClient(app) as client:
        yield client


async def _organiser(pool, tenant, unit=None, write=True) -> dict[str, str]:
    minted = await TokenStore(pool).mint(tenant, label="书记", role="organiser",
                                         can_write=write, organiser_id=ORGANISER,
                                         scope_unit_id=unit)
    return {"Authorization": f"Bearer {minted.token}"}


async def test_the_api_creates_lists_replays_and_disables(pool, history, client) -> None:
    tree = await _tree(history)
    await history.member(tree.branch)
    await history.project()
    committee = await _organiser(pool, history.tenant_id, tree.community)
    base = f"/api/v1/units/{tree.branch}/webhooks"
    created = await client.post(base, headers=committee, json={
        "url": "https://gateway.example.cn/hooks", "event_types": ["CheckedIn", "CheckedIn",
                                                                    "reminder.activity_upcoming"],
        "description": "社区短信网关"})
    assert created.status_code == 201, created.text
    body = created.json()
    try:
        assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
        assert body["event_types"] == ["CheckedIn", "reminder.activity_upcoming"]
        # From now on: the events the reports had applied are passed over.
        assert body["cursor"] == format_cursor(await _horizon(pool, history))
        sid = body["subscription_id"]
        listed = await client.get(base, headers=committee)
        assert listed.status_code == 200
        assert [s["subscription_id"] for s in listed.json()["subscriptions"]] == [sid]
        assert body["secret"] not in listed.text
        one = await client.get(f"{base}/{sid}", headers=committee)
        assert one.status_code == 200 and "secret" not in one.json()

        replayed = await client.post(f"{base}/{sid}/replay", headers=committee,
                                     json={"after": "0-0"})
        assert replayed.status_code == 200 and replayed.json()["cursor"] == "0-0"
        replayed = await client.post(f"{base}/{sid}/replay", headers=committee,
                                     json={"after": str(history.last_position)})
        assert replayed.status_code == 200
        assert replayed.json()["cursor"].endswith(f"-{history.last_position}")
        unknown = await client.post(f"{base}/{sid}/replay", headers=committee,
                                    json={"after": "999999999999"})
        assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_position"
        wrong_txid = await client.post(f"{base}/{sid}/replay", headers=committee,
                                       json={"after": f"1-{history.last_position}"})
        assert wrong_txid.status_code == 422

        log = await client.get(f"{base}/{sid}/deliveries", headers=committee)
        assert log.status_code == 200
        assert log.json()["deliveries"] == [] and log.json()["page"]["total"] == 0

        # Another branch's path does not reach this subscription.
        elsewhere = await client.get(f"/api/v1/units/{tree.other}/webhooks/{sid}",
                                     headers=committee)
        assert elsewhere.status_code == 404
        disabled = await client.post(f"{base}/{sid}/disable", headers=committee)
        assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    finally:
        await pool.execute("""UPDATE reports.webhook_subscriptions SET disabled_at = now()
                              WHERE tenant_id = $1""", history.tenant_id)


@pytest.mark.parametrize("change, code", [
    ({"url": "ftp://gateway.example.cn/x"}, "invalid_url"),
    ({"url": "https://user:pw@gateway.example.cn/x"}, "invalid_url"),
    ({"url": "http://x"}, "invalid_value"),
    ({"url": "https://gateway.example.cn/\u0000"}, "control_characters"),
    ({"event_types": []}, "invalid_value"),
    ({"event_types": ["Nope"]}, "unknown_event_type"),
    ({"event_types": "CheckedIn"}, "invalid_value"),
    ({"start_after": "abc"}, "invalid_value"),
    ({"start_after": "1-2-3"}, "invalid_value"),
    ({"secret": "mine"}, "invalid_request"),  # nobody chooses the secret
])
async def test_bad_subscriptions_are_refused(pool, history, client, change, code) -> None:
    tree = await _tree(history)
    await history.project()
    headers = await _organiser(pool, history.tenant_id)
    body = {"url": "https://gateway.example.cn/hooks", "event_types": ["CheckedIn"], **change}
    refused = await client.post(f"/api/v1/units/{tree.branch}/webhooks", headers=headers,
                                json=body)
    assert refused.status_code == (400 if code == "invalid_request" else 422), refused.text
    assert refused.json()["code"] == code, refused.text
    assert await pool.fetchval("SELECT count(*) FROM reports.webhook_subscriptions "
                               "WHERE tenant_id = $1", history.tenant_id) == 0


async def test_the_allowlist_refuses_other_hosts(pool, history, database_url) -> None:
    tree = await _tree(history)
    await history.project()
    app = create_app(Settings(database_url=database_url, run_projector=False,
                              run_webhooks=False,
                              webhook_allowlist=Allowlist.parse("gateway.example.cn")))
    headers = await _organiser(pool, history.tenant_id)
    async with AsyncTestClient(app) as client:
        refused = await client.post(f"/api/v1/units/{tree.branch}/webhooks", headers=headers,
                                    json={"url": "http://169.254.169.254/latest",
                                          "event_types": ["CheckedIn"]})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_url"


async def test_who_may_manage_subscriptions(pool, history, client) -> None:
    tree = await _tree(history)
    await history.project()
    base = f"/api/v1/units/{tree.branch}/webhooks"
    body = {"url": "https://gateway.example.cn/hooks", "event_types": ["CheckedIn"]}
    other_branch = await _organiser(pool, history.tenant_id, tree.other)
    read_only = await _organiser(pool, history.tenant_id, write=False)
    client_token = await TokenStore(pool).mint(history.tenant_id, label="x", role="client",
                                               can_write=True)
    as_client = {"Authorization": f"Bearer {client_token.token}"}
    assert (await client.post(base, headers=other_branch, json=body)).status_code == 403
    assert (await client.get(base, headers=other_branch)).status_code == 403
    assert (await client.post(base, headers=read_only, json=body)).status_code == 403
    assert (await client.get(base, headers=read_only)).status_code == 200
    assert (await client.post(base, headers=as_client, json=body)).status_code == 403
    assert (await client.get(base, headers=as_client)).status_code == 403
    assert (await client.get(base)).status_code == 401
    missing = await client.get(f"{base}/{uuid.uuid4()}", headers=read_only)
    assert missing.status_code == 404 and missing.json()["code"] == "subscription_not_found"


async def test_a_rebuild_keeps_subscriptions_cursors_and_the_log(
        pool, history, receiver, database_url) -> None:
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=LOOPBACK)
        try:
            await _drain(pool, history, sub, dispatcher, receiver, len(expected))
            before = await _stored(pool, sub)
            await rebuild(database_url)
            assert await _stored(pool, sub) == before
            assert len(await _log(pool, sub)) == len(expected)
            later = await history.activity(tree.branch, DAY, title="重建之后")
            await history.project()
            await _drain(pool, history, sub, dispatcher, receiver, len(expected) + 1)
        finally:
            await dispatcher.stop()
        assert [_about(e) for e in receiver.handled] == [
            *expected, ("ActivityScheduled", later)]


async def test_the_served_app_delivers_what_its_api_subscribed(
        pool, history, receiver, database_url) -> None:
    """The dispatcher as the app's background task, started and stopped with it."""
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()  # the tree known: the guard checks the scope against it
    app = create_app(Settings(database_url=database_url, poll_interval=0.05, webhooks=FAST,
                              webhook_allowlist=LOOPBACK))
    headers = await _organiser(pool, history.tenant_id, tree.community)
    try:
        async with AsyncTestClient(app) as client:
            created = await client.post(f"/api/v1/units/{tree.branch}/webhooks",
                                        headers=headers, json={
                "url": receiver.url, "event_types": TYPES, "start_after": "0-0"})
            assert created.status_code == 201, created.text
            # The receiver knows the secret only from the creation's answer.
            receiver.receiver = Receiver(created.json()["secret"], receiver.handle)
            for _ in range(500):
                if len(receiver.handled) >= len(expected):
                    break
                await asyncio.sleep(0.02)
    finally:
        await pool.execute("""UPDATE reports.webhook_subscriptions SET disabled_at = now()
                              WHERE tenant_id = $1""", history.tenant_id)
    assert app.state.runner is not None
    assert [_about(e) for e in receiver.handled] == expected
