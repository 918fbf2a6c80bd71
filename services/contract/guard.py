"""The access rule applied to every route of a Litestar app (both services use it).

`access_guard` is the app's one guard. It reads the route's `Access` rule from its `opt`,
authenticates the bearer token, applies the rule (`contract.access.permit`), and asks the
service's `Scopes` whether the caller's subtree covers the unit the route's path names. The
principal is kept on the request for the `principal` dependency. Guards run before the body
is read, so a caller without the right is refused before anything it sent is looked at.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from litestar import Litestar, Request, Router
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from contract.access import PUBLIC, Access, Principal, Target, permit, require_cover
from contract.metrics import allowed as metrics_allowed
from contract.openapi_viewer import viewer_assets
from contract.tokens import Verifier


class Scopes(Protocol):
    """What a service knows about where its resources sit in the tree."""

    async def covers(self, principal: Principal, target: Target, value: Any) -> bool:
        """Whether the principal's subtree covers the resource the path names. A resource
        that does not exist is covered: the route then answers 404 as for anyone."""
        ...


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, raw = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise NotAuthorizedException("A bearer token is required")
    return raw.strip()


def rule_of(handler: BaseRouteHandler) -> Access | None:
    rule = handler.opt.get("access")
    if isinstance(rule, Access):
        return rule
    # Litestar answers OPTIONS itself for every path (204 with `Allow`); it reveals nothing.
    if getattr(handler, "http_methods", None) == {"OPTIONS"}:
        return PUBLIC
    return None


def schema_router(path: str = "/schema") -> Router:
    """The OpenAPI documents and viewers, public: the schema says what exists, not who.
    The viewer's own files are served under it (contract.openapi_viewer)."""
    return Router(path=path, route_handlers=[viewer_assets()], opt=PUBLIC.opt(),
                  include_in_schema=False)


async def access_guard(connection: ASGIConnection[Any, Any, Any, Any],
                       handler: BaseRouteHandler) -> None:
    rule = rule_of(handler)
    if rule is None:  # check_routes makes this unreachable; refuse rather than allow
        raise NotAuthorizedException("This route has no access rule")
    if rule.public or rule.session:
        return
    if rule.metrics:
        client = connection.client.host if connection.client else None
        if not metrics_allowed(client, connection.headers.get("authorization", ""),
                               connection.app.state.get("metrics_token")):
            raise NotAuthorizedException("METRICS_TOKEN is required (or a loopback caller)")
        return
    tokens: Verifier = connection.app.state.tokens
    principal = await tokens.verify(bearer_token(connection))
    if principal is None:
        raise NotAuthorizedException("The token is unknown or revoked")
    permit(principal, rule)
    if rule.target is not None and principal.scope_unit_id is not None:
        scopes: Scopes = connection.app.state.scopes
        value = connection.path_params.get(rule.target)
        require_cover(await scopes.covers(principal, rule.target, value))
    connection.scope["principal"] = principal  # type: ignore[typeddict-unknown-key]


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.scope.get("principal")
    if not isinstance(principal, Principal):
        raise NotAuthorizedException("A bearer token is required")
    return principal


def check_routes(app: Litestar) -> None:
    """Every route handler must declare its rule: a new route without one fails at start
    (and so fails the test suite), instead of being open by default."""
    missing = sorted(
        f"{' '.join(sorted(route.methods))} {route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if rule_of(handler) is None
    )
    if missing:
        raise RuntimeError("routes without an access rule: " + ", ".join(missing))


def as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
