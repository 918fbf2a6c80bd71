"""Dependency providers: the services opened in the lifespan hook, and the caller (whom
the access guard has authenticated; see contract.guard)."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from contract.access import Principal
from contract.bounds import request_id
from contract.guard import provide_principal
from ledger.adapters.event_store import PostgresEventStore
from ledger.adapters.listings import Listings
from ledger.adapters.notifier import FeedNotifier
from ledger.handlers import Actor, Ledger


def provide_ledger(state: State) -> Ledger:
    return state.ledger


def provide_store(state: State) -> PostgresEventStore:
    return state.store


def provide_listings(state: State) -> Listings:
    return state.listings


def provide_notifier(state: State) -> FeedNotifier:
    return state.notifier


def provide_actor(request: Request, principal: NamedDependency[Principal]) -> Actor:
    # Both ids go into the events' metadata, which stays forever: bounded or refused.
    return Actor.from_principal(
        principal, request_id(request.headers.get("x-request-id"), "X-Request-Id"),
        request_id(request.headers.get("x-correlation-id"), "X-Correlation-Id"))


DEPENDENCIES = {
    "ledger": Provide(provide_ledger, sync_to_thread=False),
    "store": Provide(provide_store, sync_to_thread=False),
    "listings": Provide(provide_listings, sync_to_thread=False),
    "notifier": Provide(provide_notifier, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "actor": Provide(provide_actor, sync_to_thread=False),
}
