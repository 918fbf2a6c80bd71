"""Webhook subscriptions of a unit: create (the secret is shown once), list, disable, the
delivery log, and replay from a feed position.

Organisers only (another system receives webhooks; it does not set them up): a tenant-wide
organiser for any unit, a committee's organiser for the units of its subtree (the access
guard checks the unit in the path). A subscription is reached through its unit's path, so
a scope that covers the unit covers its subscriptions.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from contract.access import ORGANISERS, Access, Principal, write
from contract.bounds import INT4_MAX, line
from contract.cursor import MAX_LENGTH as CURSOR_LENGTH
from contract.cursor import START, Cursor, format_cursor, parse_position
from reports.adapters import webhook_store
from reports.adapters.webhook_store import Subscription
from reports.config import Settings
from reports.domain import webhooks
from reports.domain.views import Page
from reports.entrypoints.dependencies import check_unit
from reports.entrypoints.problems import invalid, problem
from reports.service.ports import Feed
from reports.service.webhooks import horizon

READ = Access(target="unit_id", roles=ORGANISERS).opt()
WRITE = write("unit_id", roles=ORGANISERS)
MAX_TYPES = len(webhooks.EVENT_TYPES)
EventType = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z._]+$")]
Position = Annotated[str, msgspec.Meta(max_length=CURSOR_LENGTH, pattern=r"^[0-9-]*$")]


class NewSubscription(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: line(webhooks.MAX_URL_LENGTH, min_length=webhooks.MIN_URL_LENGTH)
    event_types: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=MAX_TYPES)]
    description: line(200) = ""
    # Deliver the events after this feed cursor or position ("0-0": from the very first);
    # None: only events from now on (what the reports have applied so far is passed).
    start_after: Position | None = None


class Replay(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # A feed cursor <txid>-<position> or a position: every event after it is delivered
    # again; "0-0": from the very first.
    after: Position


class SubscriptionView(msgspec.Struct, frozen=True, kw_only=True):
    subscription_id: uuid.UUID
    unit_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    # The feed cursor of the last event delivered or passed over.
    cursor: str
    # Failed attempts at the delivery in flight, and when the next one is due.
    attempts: int
    next_attempt_at: datetime | None


class CreatedSubscription(SubscriptionView, frozen=True, kw_only=True):
    # Shown this once: the HMAC key of the `Webhook-Signature` header (docs/api.md).
    secret: str


class SubscriptionList(msgspec.Struct, frozen=True, kw_only=True):
    subscriptions: list[SubscriptionView]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    delivery_id: int
    event_id: str
    event_type: str
    event_cursor: str | None
    attempt: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    delivered: bool


class DeliveryLog(msgspec.Struct, frozen=True, kw_only=True):
    subscription_id: uuid.UUID
    deliveries: list[Delivery]
    page: Page


def _view(subscription: Subscription) -> SubscriptionView:
    return SubscriptionView(
        subscription_id=subscription.subscription_id, unit_id=subscription.unit_id,
        url=subscription.url, event_types=list(subscription.event_types),
        description=subscription.description, created_by=subscription.created_by,
        created_at=subscription.created_at, disabled_at=subscription.disabled_at,
        cursor=format_cursor(subscription.cursor), attempts=subscription.attempts,
        next_attempt_at=subscription.next_attempt_at)


async def _cursor(feed: Feed, tenant_id: str, text: str, field: str) -> Cursor:
    """A position or cursor of an event of the tenant (or "0-0"), or refused (422)."""
    try:
        parsed = parse_position(text)
    except ValueError:
        raise invalid(field, f"{field} 须为位置（如 1234）或游标（如 5678-1234）",
                      f"{field} must be a position or a feed cursor <txid>-<position>") from None
    if parsed == START:
        return START
    position = parsed if isinstance(parsed, int) else parsed[1]
    found = await feed.cursor_of_position(tenant_id, position)
    if found is None or (isinstance(parsed, tuple) and found != parsed):
        raise invalid(field, "没有该位置的事件", "no event of this tenant has that position",
                      code="unknown_position")
    return found


class WebhookController(Controller):
    path = "/api/v1/units/{unit_id:str}/webhooks"
    tags = ("webhooks",)

    async def _subscription(self, connection: asyncpg.Connection, principal: Principal,
                            unit_id: uuid.UUID, subscription_id: uuid.UUID) -> Subscription:
        await check_unit(connection, principal, unit_id)
        found = await webhook_store.get(connection, principal.tenant_id, unit_id,
                                        subscription_id)
        if found is None:
            raise problem(404, "subscription_not_found", "订阅不存在", "no such subscription",
                          field="subscription_id")
        return found

    @post("/", operation_id="createWebhookSubscription", opt=WRITE, status_code=201,
          summary="Subscribe a URL to events and reminders of the unit's subtree")
    async def create(self, pool: NamedDependency[asyncpg.Pool],
                     principal: NamedDependency[Principal], feed: NamedDependency[Feed],
                     settings: NamedDependency[Settings], unit_id: FromPath[uuid.UUID],
                     data: JSONBody[NewSubscription]) -> CreatedSubscription:
        url = data.url.strip()
        if reason := webhooks.url_problem(url, settings.webhook_allowlist):
            raise invalid("url", reason[0], reason[1], code="invalid_url")
        if unknown := webhooks.unknown_types(data.event_types):
            raise invalid("event_types", f"未知的事件类型：{unknown[0]}",
                          f"unknown event type {unknown[0]!r}", code="unknown_event_type")
        start = (None if data.start_after is None
                 else await _cursor(feed, principal.tenant_id, data.start_after, "start_after"))
        secret = "whsec_" + secrets.token_urlsafe(32)
        async with pool.acquire() as connection:
            await check_unit(connection, principal, unit_id)
            if start is None:
                start = await horizon(connection, principal.tenant_id) or START
            created = await webhook_store.create(
                connection, principal.tenant_id, unit_id=unit_id, url=url,
                event_types=sorted(set(data.event_types)), secret=secret,
                description=data.description.strip(), created_by=principal.actor, cursor=start)
        return CreatedSubscription(**msgspec.structs.asdict(_view(created)), secret=secret)

    @get("/", operation_id="listWebhookSubscriptions", opt=READ,
         summary="The unit's webhook subscriptions (without their secrets)")
    async def list_subscriptions(self, pool: NamedDependency[asyncpg.Pool],
                                 principal: NamedDependency[Principal],
                                 unit_id: FromPath[uuid.UUID]) -> SubscriptionList:
        async with pool.acquire() as connection:
            await check_unit(connection, principal, unit_id)
            found = await webhook_store.of_unit(connection, principal.tenant_id, unit_id)
        return SubscriptionList(subscriptions=[_view(s) for s in found])

    @get("/{subscription_id:str}", operation_id="getWebhookSubscription", opt=READ,
         summary="One subscription and where its deliveries stand")
    async def get_subscription(self, pool: NamedDependency[asyncpg.Pool],
                               principal: NamedDependency[Principal],
                               unit_id: FromPath[uuid.UUID],
                               subscription_id: FromPath[uuid.UUID]) -> SubscriptionView:
        async with pool.acquire() as connection:
            return _view(await self._subscription(connection, principal, unit_id,
                                                  subscription_id))

    @post("/{subscription_id:str}/disable", operation_id="disableWebhookSubscription",
          opt=WRITE, status_code=200, summary="Stop delivering (the log is kept)")
    async def disable(self, pool: NamedDependency[asyncpg.Pool],
                      principal: NamedDependency[Principal], unit_id: FromPath[uuid.UUID],
                      subscription_id: FromPath[uuid.UUID]) -> SubscriptionView:
        async with pool.acquire() as connection:
            found = await self._subscription(connection, principal, unit_id, subscription_id)
            return _view(await webhook_store.disable(connection, found))

    @post("/{subscription_id:str}/replay", operation_id="replayWebhookSubscription",
          opt=WRITE, status_code=200,
          summary="Deliver again every event after a feed position")
    async def replay(self, pool: NamedDependency[asyncpg.Pool],
                     principal: NamedDependency[Principal], feed: NamedDependency[Feed],
                     unit_id: FromPath[uuid.UUID], subscription_id: FromPath[uuid.UUID],
                     data: JSONBody[Replay]) -> SubscriptionView:
        cursor = await _cursor(feed, principal.tenant_id, data.after, "after")
        async with pool.acquire() as connection:
            found = await self._subscription(connection, principal, unit_id, subscription_id)
            return _view(await webhook_store.replay(connection, found, cursor))

    @get("/{subscription_id:str}/deliveries", operation_id="listWebhookDeliveries", opt=READ,
         summary="The delivery log: every attempt, newest first")
    async def deliveries(
        self, pool: NamedDependency[asyncpg.Pool], principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID], subscription_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=INT4_MAX)] = 0,
    ) -> DeliveryLog:
        async with pool.acquire() as connection:
            found = await self._subscription(connection, principal, unit_id, subscription_id)
            rows, total = await webhook_store.deliveries(connection, found, limit=limit,
                                                         offset=offset)
        return DeliveryLog(
            subscription_id=subscription_id,
            deliveries=[Delivery(**dict(row)) for row in rows],
            page=Page(limit=limit, offset=offset, total=total,
                      next_offset=offset + limit if offset + limit < total else None))
