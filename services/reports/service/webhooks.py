"""The webhook dispatcher: a consumer of the ledger's feed, one per reports process.

For each enabled subscription whose next attempt is due, it finds the first item after the
subscription's cursor that concerns it (an event of its types about a unit of its subtree,
or else a reminder), posts it signed, and records the attempt. One item is in flight per
subscription: the cursor moves past an item only when it was answered 2xx, in the same
transaction as the log row, so a crash before that commit delivers the same item again
(at least once) and nothing after it has been sent (feed order). A failed attempt is
retried after an exponential backoff with a cap.

The dispatcher reads no further than every projection of the tenant has applied, so the
read models it asks which subtree an event concerns (an activity's host unit, the tree)
already know the event.

Where a delivery goes is checked at every attempt: the URL's host against
WEBHOOK_ALLOWED_HOSTS as written, then every address the host resolves to (an internal one
only when the list names its network), and the request connects to the address checked,
with the name kept for the Host header and TLS (SNI and the certificate's name), so a name
that resolves elsewhere a moment later (DNS rebinding) cannot turn the delivery inwards.

The delivery log is kept `WEBHOOK_LOG_DAYS` days: a pass at most once an hour deletes the
attempts older than that (`prune`; also `reports webhooks prune --older-than DAYS`).

Two dispatchers (the server's and a `reports webhooks` command, say) take turns on a
subscription through a transaction-level advisory lock: the transaction that holds it is
the one that logs the attempt. It has no transaction id until that write, so it does not
hold the feed's horizon back while the request is on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec

from contract.cursor import Cursor, format_cursor
from contract.events import UnknownEventType, decode_data, encode_data
from reports.adapters import checkpoints, dns, webhook_store
from reports.adapters.schema import LIVE
from reports.adapters.webhook_store import Attempt, Item, Subscription
from reports.config import Webhooks
from reports.domain import webhook_signature, webhooks
from reports.domain.webhooks import ANY_HOST, Allowlist, Payload
from reports.service.ports import Feed, FeedUnavailable
from reports.service.projections import PROJECTIONS
from reports.service.reminders import make_reminders

log = logging.getLogger("reports.webhooks")

BATCH = 200
# How often the dispatcher prunes the delivery log, and how many rows one statement deletes
# (a long log is pruned in short transactions).
PRUNE_EVERY = timedelta(hours=1)
PRUNE_BATCH = 10_000
# The error kept in the log: the start of what went wrong, not a whole page.
MAX_ERROR = 500


def _now() -> datetime:
    return datetime.now(UTC)


async def horizon(connection: asyncpg.Connection, tenant_id: str) -> Cursor | None:
    """How far every projection of the tenant has applied the feed (None: not started)."""
    points = await checkpoints.read(connection, LIVE, tenant_id)
    names = [p.name for p in PROJECTIONS]
    if not all(n in points for n in names):
        return None
    return min(points[n].cursor for n in names)


class Dispatcher:
    def __init__(self, pool: asyncpg.Pool, feed: Feed, *, pacing: Webhooks,
                 allowlist: Allowlist = ANY_HOST,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] = _now,
                 resolve: dns.Resolve = dns.resolve) -> None:
        self._pool = pool
        self._feed = feed
        self._pacing = pacing
        self._allowlist = allowlist
        self._clock = clock
        self._resolve = resolve
        self._pruned: datetime | None = None
        # No redirects: a receiver may not send the delivery (and its signature) elsewhere.
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False,
                                         timeout=pacing.timeout)
        self._task: asyncio.Task[None] | None = None
        self._reminders_made: datetime | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="reports-webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def run(self) -> None:
        while True:
            try:
                if not await self.run_once():
                    await asyncio.sleep(self._pacing.poll_interval)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, FeedUnavailable):
                log.exception("webhook pass failed; retrying")
                await asyncio.sleep(self._pacing.poll_interval)
            except Exception:
                # A bug must not end deliveries for every subscription in silence: the
                # step's transaction rolled back, so retrying delivers nothing twice
                # beyond the one in flight.
                log.exception("webhook pass failed unexpectedly; retrying")
                await asyncio.sleep(self._pacing.poll_interval)

    async def run_once(self) -> int:
        """One pass: the reminders due, then one attempt for every due subscription. The
        number of attempts made."""
        now = self._clock()
        async with self._pool.acquire() as connection:
            subscriptions = await webhook_store.due(connection, now)
            # Reminders at most once per poll interval: a backlog is delivered in many
            # quick passes, and the reminders' queries need not run in each.
            if self._reminders_made is None or (
                    now - self._reminders_made).total_seconds() >= self._pacing.poll_interval:
                for tenant_id in sorted({s.tenant_id for s in subscriptions}):
                    await make_reminders(connection, tenant_id, now)
                self._reminders_made = now
            if self._pacing.log_days and (self._pruned is None
                                          or now - self._pruned >= PRUNE_EVERY):
                await prune(connection, now - timedelta(days=self._pacing.log_days))
                self._pruned = now
        attempts = 0
        for subscription in subscriptions:
            attempts += await self._step(subscription)
        return attempts

    async def _step(self, subscription: Subscription) -> int:
        async with self._pool.acquire() as connection:
            # First find the item, committing any pass-over at once: those are writes, and
            # a transaction that wrote holds the feed's horizon back while it stays open.
            async with connection.transaction():
                if not await _lock(connection, subscription):
                    return 0  # another dispatcher has it
                current = await webhook_store.refresh(connection, subscription)
                if current is None or current.disabled_at is not None:
                    return 0
                current, item = await self._next_item(connection, current)
            if item is None:
                return 0
            async with connection.transaction():
                if not await _lock(connection, current):
                    return 0
                again = await webhook_store.refresh(connection, current)
                if again is None or again != current:
                    return 0  # delivered, replayed or disabled in between: look again
                secret = await webhook_store.secret(connection, current)
                attempt = await self._post(current, item, secret)
                delay = webhooks.backoff(current.attempts + 1, self._pacing.backoff_base,
                                         self._pacing.backoff_cap)
                await webhook_store.record_attempt(
                    connection, current, item, attempt,
                    None if attempt.delivered
                    else attempt.attempted_at + timedelta(seconds=delay))
                return 1

    async def _next_item(self, connection: asyncpg.Connection, subscription: Subscription
                         ) -> tuple[Subscription, Item | None]:
        """The first item after the cursors that concerns the subscription, and the
        subscription with its cursors moved past those that do not (a replay meanwhile
        wins: see `pass_over`)."""
        until = await horizon(connection, subscription.tenant_id)
        cursor, found = subscription.cursor, None
        while found is None and until is not None and cursor < until:
            raws = await self._feed.read_batch(subscription.tenant_id, cursor, BATCH)
            for raw in raws:
                txid, position, type_name, version, data, recorded_at = raw[:6]
                if (txid, position) > until:
                    break
                found = await self._event_item(connection, subscription, (txid, position),
                                               type_name, version, data, recorded_at)
                if found is not None:
                    break
                cursor = (txid, position)
            if found is None and len(raws) < BATCH:
                break
        if cursor != subscription.cursor:
            if not await webhook_store.pass_over(connection, subscription, cursor):
                return subscription, None  # replayed meanwhile: start again from there
            subscription = replace(subscription, cursor=cursor)
        if found is not None:
            return subscription, found
        row, passed = await webhook_store.next_reminder(connection, subscription)
        if passed != subscription.reminder_seq:
            await webhook_store.pass_over_reminders(connection, subscription, passed)
            subscription = replace(subscription, reminder_seq=passed)
        return subscription, None if row is None else self._reminder_item(subscription, row)

    async def _event_item(self, connection: asyncpg.Connection, subscription: Subscription,
                          cursor: Cursor, type_name: str, version: int, data: bytes,
                          recorded_at: datetime) -> Item | None:
        if type_name not in subscription.event_types:
            return None
        try:
            event = decode_data(type_name, version, bytes(data))
        except (UnknownEventType, msgspec.ValidationError, msgspec.DecodeError, KeyError):
            log.warning("webhook: skipping undecodable %s at %s", type_name,
                        format_cursor(cursor))
            return None
        fields = msgspec.json.decode(encode_data(event))
        if not await webhook_store.concerns_subtree(connection, subscription.tenant_id,
                                                    subscription.unit_id,
                                                    webhooks.concerns(fields)):
            return None
        event_id = webhooks.event_id(subscription.tenant_id, cursor[1])
        payload = Payload(id=event_id, type=type_name, tenant_id=subscription.tenant_id,
                          subscription_id=subscription.subscription_id,
                          cursor=format_cursor(cursor), occurred_at=recorded_at, data=fields)
        return Item(event_id, type_name, webhooks.body(payload), cursor=cursor)

    def _reminder_item(self, subscription: Subscription, row: asyncpg.Record) -> Item:
        event_id = webhooks.reminder_event_id(subscription.tenant_id, row["reminder_id"])
        payload = Payload(id=event_id, type=row["type"], tenant_id=subscription.tenant_id,
                          subscription_id=subscription.subscription_id, cursor=None,
                          occurred_at=row["due_at"], data=msgspec.json.decode(row["data"]))
        return Item(event_id, row["type"], webhooks.body(payload), seq=row["seq"])

    async def _post(self, subscription: Subscription, item: Item, secret: str) -> Attempt:
        attempted_at = self._clock()
        started = time.monotonic()
        url = httpx.URL(subscription.url)
        if not self._allowlist.allows(url.host):
            # The allow-list may have been narrowed since the subscription was made.
            return Attempt(attempted_at, None, 0, "host not allowed (WEBHOOK_ALLOWED_HOSTS)",
                           False)
        target = await self._target(url)
        if isinstance(target, str):
            return Attempt(attempted_at, None, _ms(started), _printable(target), False)
        pinned, named, extensions = target
        headers = {**webhook_signature.headers(secret, item.event_id, int(time.time()),
                                               item.body), **named}
        try:
            response = await self._client.post(pinned, content=item.body, headers=headers,
                                               extensions=extensions)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return Attempt(attempted_at, None, _ms(started),
                           _printable(f"{type(error).__name__}: {error}"), False)
        ok = webhooks.delivered(response.status_code)
        return Attempt(attempted_at, response.status_code, _ms(started),
                       None if ok else _printable(response.text), ok)


    async def _target(self, url: httpx.URL
                      ) -> tuple[httpx.URL, dict[str, str], dict[str, Any]] | str:
        """The URL to connect to (the host replaced by the address checked), the Host
        header and the TLS name that keep the name; or why not."""
        try:
            ipaddress.ip_address(url.host)
        except ValueError:
            pass
        else:  # an address as written: nothing to resolve
            problem = webhooks.unreachable([url.host], self._allowlist)
            return problem or (url, {}, {})
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await self._resolve(url.host, port)
        except OSError as error:
            return f"cannot resolve {url.host}: {error}"
        if problem := webhooks.unreachable(addresses, self._allowlist):
            return problem
        named = {"Host": url.netloc.decode("ascii")}
        extensions: dict[str, Any] = {}
        if url.scheme == "https":
            extensions["sni_hostname"] = url.host
            # The client pools connections by address: one opened for another name on the
            # same address would carry that name's TLS session. Not kept, it is not reused.
            named["Connection"] = "close"
        return url.copy_with(host=addresses[0]), named, extensions


async def prune(connection: asyncpg.Connection, before: datetime) -> int:
    """Delete the delivery log's attempts made before `before`, a batch per statement;
    how many. The subscriptions' cursors do not depend on the log."""
    pruned = 0
    while True:
        deleted = await webhook_store.prune(connection, before, PRUNE_BATCH)
        pruned += deleted
        if deleted < PRUNE_BATCH:
            return pruned


async def _lock(connection: asyncpg.Connection, subscription: Subscription) -> bool:
    """The subscription's advisory lock until the transaction ends; False if taken."""
    return await connection.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
        f"webhook:{subscription.tenant_id}:{subscription.subscription_id}")


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _printable(text: str) -> str:
    """A receiver's answer as the log keeps it: one bounded line (no NUL, which PostgreSQL
    cannot store, nor other control characters)."""
    return "".join(c if c.isprintable() else " " for c in text[:MAX_ERROR])
