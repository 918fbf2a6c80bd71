"""Dependency providers: the services opened in the lifespan hook, and the caller (whom
the access guard has authenticated; see contract.guard)."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency, Provide

from contract.bounds import request_id
from contract.dependencies import app_state
from contract.guard import provide_principal
from ledger.handlers import Actor, Ledger


def provide_actor(request: Request, ledger: NamedDependency[Ledger]) -> Actor:
    """The caller as the use cases take it.

    `ledger` is not used: depending on it puts the two that every command route takes one
    after the other. Litestar resolves the dependencies of one level side by side, in an
    anyio task group, which costs more than both look-ups (85 µs a request on the
    development machine, against under 1 µs in turn; docs/benchmarks.md)."""
    del ledger
    # Both ids go into the events' metadata, which stays forever: bounded or refused.
    return Actor.from_principal(
        provide_principal(request),
        request_id(request.headers.get("x-request-id"), "X-Request-Id"),
        request_id(request.headers.get("x-correlation-id"), "X-Correlation-Id"))


DEPENDENCIES = {
    **app_state("ledger", "store", "directory", "listings", "notifier", "feed_reads",
                 "tokens", "names"),
    "actor": Provide(provide_actor, sync_to_thread=False),
}
