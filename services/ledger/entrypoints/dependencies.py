"""Dependency providers: the services opened in the lifespan hook, and the caller (whom
the access guard has authenticated; see contract.guard)."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency, Provide

from contract.access import Principal
from contract.dependencies import app_state
from ledger.handlers import Actor


def provide_actor(request: Request, principal: NamedDependency[Principal]) -> Actor:
    return Actor.from_principal(principal, request.headers.get("x-request-id"),
                                request.headers.get("x-correlation-id"))


DEPENDENCIES = {
    **app_state("ledger", "store", "directory", "listings", "notifier", "tokens", "names"),
    "actor": Provide(provide_actor, sync_to_thread=False),
}
