"""Dependency providers: the services opened in the lifespan hook, and the caller."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException

from ledger.adapters.event_store import PostgresEventStore
from ledger.adapters.listings import Listings
from ledger.adapters.notifier import FeedNotifier
from ledger.adapters.tokens import Principal, TokenStore
from ledger.handlers import Actor, Ledger


def provide_ledger(state: State) -> Ledger:
    return state.ledger


def provide_store(state: State) -> PostgresEventStore:
    return state.store


def provide_listings(state: State) -> Listings:
    return state.listings


def provide_notifier(state: State) -> FeedNotifier:
    return state.notifier


def provide_tokens(state: State) -> TokenStore:
    return state.tokens


def bearer_token(request: Request) -> str:
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise NotAuthorizedException("A bearer token is required")
    return raw.strip()


async def provide_principal(request: Request, tokens: NamedDependency[TokenStore]) -> Principal:
    """The caller, from its bearer token (the reports service authenticates the same way)."""
    principal = await tokens.verify(bearer_token(request))
    if principal is None:
        raise NotAuthorizedException("The token is unknown or revoked")
    return principal


def provide_actor(request: Request, principal: NamedDependency[Principal]) -> Actor:
    return Actor.from_principal(principal, request.headers.get("x-request-id"),
                                request.headers.get("x-correlation-id"))


DEPENDENCIES = {
    "ledger": Provide(provide_ledger, sync_to_thread=False),
    "store": Provide(provide_store, sync_to_thread=False),
    "listings": Provide(provide_listings, sync_to_thread=False),
    "notifier": Provide(provide_notifier, sync_to_thread=False),
    "tokens": Provide(provide_tokens, sync_to_thread=False),
    "principal": Provide(provide_principal),
    "actor": Provide(provide_actor, sync_to_thread=False),
}
