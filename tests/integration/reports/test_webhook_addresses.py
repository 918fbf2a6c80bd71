"""Where a webhook delivery may go, checked on what the host resolves to at each attempt,
and how long the delivery log keeps attempts; on real PostgreSQL with the reference
receiver on loopback. The resolver is the test's: it answers for names no DNS knows, as a
rebinding name would."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
import pytest

from reports.config import Webhooks
from reports.domain.webhooks import Allowlist
from reports.service.webhooks import Dispatcher

from .conftest import History
from .test_webhooks import (
    FAST,
    TYPES,
    Gateway,
    _branch_history,
    _drain,
    _log,
    _tree,
    receiving,
    subscription,
)

NAME = "gateway.example.cn"


@pytest.fixture
def receiver() -> Iterator[Gateway]:
    with receiving() as test:
        yield test


def resolving(*addresses: str, names: tuple[str, ...] = (NAME,)):
    """A resolver that answers `addresses` for `names` and knows no other name."""
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        if host not in names:
            raise OSError(f"unknown host {host}")
        return list(addresses)

    return resolve, asked


def named(receiver: Gateway) -> str:
    """The receiver's URL with NAME for its address (the port kept)."""
    return receiver.url.replace("127.0.0.1", NAME)


async def _attempt(pool: asyncpg.Pool, history: History, receiver: Gateway,
                   allowlist: Allowlist, *addresses: str) -> tuple[list[asyncpg.Record], list]:
    """One pass over a subscription to NAME resolving to `addresses`: the log, and what
    the resolver was asked."""
    tree = await _tree(history)
    await _branch_history(history, tree)
    await history.project()
    resolve, asked = resolving(*addresses)
    async with subscription(pool, history, tree.branch, named(receiver), TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=allowlist,
                                resolve=resolve)
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.stop()
        return await _log(pool, sub), asked


async def test_a_name_resolving_to_an_internal_address_is_refused(
        pool, history, receiver) -> None:
    log, asked = await _attempt(pool, history, receiver, Allowlist(), "127.0.0.1")
    [attempt] = log
    assert not attempt["delivered"] and attempt["status_code"] is None
    assert "internal address 127.0.0.1" in attempt["error"]
    assert receiver.arrivals == [] and asked == [(NAME, urlsplit(receiver.url).port)]


async def test_a_listed_name_alone_does_not_open_an_internal_address(
        pool, history, receiver) -> None:
    # One public answer and one internal: every address is checked, not the first only.
    log, _ = await _attempt(pool, history, receiver, Allowlist.parse(NAME),
                            "93.184.216.34", "10.0.0.5")
    assert [(r["delivered"], "internal address 10.0.0.5" in r["error"]) for r in log] == [
        (False, True)]
    assert receiver.arrivals == []


async def test_an_unresolvable_name_is_a_failed_attempt(pool, history, receiver) -> None:
    tree = await _tree(history)
    await _branch_history(history, tree)
    await history.project()
    resolve, _ = resolving("127.0.0.1")
    url = receiver.url.replace("127.0.0.1", "nowhere.example.cn")
    async with subscription(pool, history, tree.branch, url, TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, resolve=resolve)
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.stop()
        [attempt] = await _log(pool, sub)
    assert not attempt["delivered"] and "cannot resolve nowhere.example.cn" in attempt["error"]


async def test_an_allowed_network_is_reached_at_the_address_checked(
        pool, history, receiver) -> None:
    """NAME is known to no DNS: the delivery arrives only because it connected to the
    address the dispatcher checked, with the name kept in the Host header."""
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()
    resolve, asked = resolving("127.0.0.1")
    allowed = Allowlist.parse(f"{NAME}, 127.0.0.0/8")
    async with subscription(pool, history, tree.branch, named(receiver), TYPES) as sub:
        dispatcher = Dispatcher(pool, history.feed, pacing=FAST, allowlist=allowed,
                                resolve=resolve)
        try:
            await _drain(pool, history, sub, dispatcher, receiver, len(expected))
        finally:
            await dispatcher.stop()
        assert all(r["delivered"] for r in await _log(pool, sub))
    port = urlsplit(receiver.url).port
    assert set(receiver.hosts) == {f"{NAME}:{port}"} and len(asked) == len(expected)


async def _logged(pool: asyncpg.Pool, history: History, receiver: Gateway,
                  ages: list[int]) -> list[int]:
    """Log rows of a fresh subscription attempted `ages` days ago; their delivery ids."""
    tree = await _tree(history)
    async with subscription(pool, history, tree.branch, receiver.url, TYPES) as sub:
        now = datetime.now(UTC)
        return [await pool.fetchval(
            """INSERT INTO reports.webhook_deliveries
                   (tenant_id, subscription_id, event_id, event_type, attempt, attempted_at,
                    latency_ms, delivered)
               VALUES ($1, $2, gen_random_uuid(), 'CheckedIn', 1, $3, 0, false)
               RETURNING delivery_id""",
            history.tenant_id, sub.subscription_id, now - timedelta(days=age, minutes=1))
            for age in ages]


async def _kept(pool: asyncpg.Pool, history: History) -> list[int]:
    rows = await pool.fetch("SELECT delivery_id FROM reports.webhook_deliveries "
                            "WHERE tenant_id = $1 ORDER BY delivery_id", history.tenant_id)
    return [row["delivery_id"] for row in rows]


async def test_the_dispatcher_prunes_the_log_by_age(pool, history, receiver) -> None:
    old, older, recent = await _logged(pool, history, receiver, [40, 400, 3])
    keep_a_month = Webhooks(poll_interval=0.05, backoff_base=0.2, backoff_cap=0.5, timeout=5,
                            log_days=30)
    for pacing, kept in ((msgspec.structs.replace(keep_a_month, log_days=0),
                          [old, older, recent]),
                         (keep_a_month, [recent])):
        dispatcher = Dispatcher(pool, history.feed, pacing=pacing)
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.stop()
        assert await _kept(pool, history) == kept


async def test_reports_webhooks_prune_deletes_what_is_older(
        pool, history, receiver, database_url) -> None:
    _old, recent = await _logged(pool, history, receiver, [8, 6])
    command = [sys.executable, "-m", "reports.entrypoints.cli", "webhooks", "prune",
               "--older-than", "7"]
    process = await asyncio.create_subprocess_exec(
        *command, env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0 and out.decode().startswith("pruned ")
    assert await _kept(pool, history) == [recent]
    refused = await asyncio.create_subprocess_exec(
        *command[:-1], "-1", env={**os.environ, "DATABASE_URL": database_url},
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2 and b"0 to 36500 days" in err


@pytest.fixture
def tls(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate for NAME only (made by openssl, which every
    system with TLS has); the client side trusts it through `tmp_path / "cert.pem"`."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={NAME}",
                    "-addext", f"subjectAltName=DNS:{NAME}"], check=True,
                   capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def test_https_keeps_the_name_for_sni_and_the_certificate(
        pool, history, tls, tmp_path) -> None:
    """Connected to the address checked, TLS still names the host: the receiver's
    certificate for NAME is accepted, and another name on the same address is refused
    by the certificate check (not served over NAME's connection)."""
    tree = await _tree(history)
    expected = await _branch_history(history, tree)
    await history.project()
    served_names: list[str | None] = []
    tls.sni_callback = lambda _socket, name, _context: served_names.append(name)
    trust = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    resolve, _ = resolving("127.0.0.1", names=(NAME, "other.example.cn"))
    with receiving(tls) as receiver:
        url = named(receiver).replace("http://", "https://")
        async with subscription(pool, history, tree.branch, url, TYPES) as sub, \
                subscription(pool, history, tree.branch,
                             url.replace(NAME, "other.example.cn"), TYPES) as other:
            dispatcher = Dispatcher(
                pool, history.feed, pacing=FAST,
                allowlist=Allowlist.parse(f"{NAME}, other.example.cn, 127.0.0.1"),
                resolve=resolve, transport=httpx.AsyncHTTPTransport(verify=trust))
            try:
                await _drain(pool, history, sub, dispatcher, receiver, len(expected))
            finally:
                await dispatcher.stop()
            assert all(r["delivered"] for r in await _log(pool, sub))
            refused = await _log(pool, other)
        assert refused and not any(r["delivered"] for r in refused)
        assert all("CERTIFICATE_VERIFY_FAILED" in r["error"] for r in refused)
    assert set(served_names) == {NAME, "other.example.cn"}
    assert len(receiver.handled) == len(expected)
