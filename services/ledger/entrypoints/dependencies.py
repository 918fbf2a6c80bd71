"""Dependency providers: the services opened in the lifespan hook, and the caller (whom
the access guard has authenticated; see contract.guard)."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency, Provide

from contract.access import Principal
from contract.bounds import request_id
from contract.dependencies import app_state
from ledger.handlers import Actor


def provide_actor(request: Request, principal: NamedDependency[Principal]) -> Actor:
    # Both ids go into the events' metadata, which stays forever: bounded or refused.
    return Actor.from_principal(
        principal, request_id(request.headers.get("x-request-id"), "X-Request-Id"),
        request_id(request.headers.get("x-correlation-id"), "X-Correlation-Id"))


DEPENDENCIES = {
    **app_state("ledger", "store", "directory", "listings", "notifier", "feed_reads",
                 "tokens", "names"),
    "actor": Provide(provide_actor, sync_to_thread=False),
}
