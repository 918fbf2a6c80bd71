"""The request log and latency histogram of both services: an ASGI middleware.

Each request gets its id here (the caller's `X-Request-Id` if well-formed, else a new one),
answered in `X-Request-Id` and kept in the scope so that `contract.door` logs a 5xx and
puts it in the problem under the same id. One JSON log line per request (`contract.logs`):
request id, operation id, method, path, status and duration. Routing runs before
route middleware, so a path that matches no route (404 by the router) is not counted.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from contract.bounds import is_request_id
from contract.metrics import REQUEST_SECONDS

log = logging.getLogger("requests")
SCOPE_KEY = "request_id"


def request_id_of(scope: Any) -> str:
    """The request's id, as the middleware chose it (or a new one outside it)."""
    chosen = scope.get(SCOPE_KEY)
    if isinstance(chosen, str):
        return chosen
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            if is_request_id(sent):
                return sent
    return uuid.uuid4().hex


def _operation(scope: Scope) -> str:
    handler = scope.get("route_handler")
    operation = getattr(handler, "operation_id", None)
    if isinstance(operation, str):
        return operation
    return getattr(handler, "handler_name", None) or "unrouted"


def observe(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope[SCOPE_KEY] = request_id  # type: ignore[literal-required]
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        started = time.perf_counter()
        try:
            await app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            operation = _operation(scope)
            REQUEST_SECONDS.labels(operation).observe(elapsed)
            log.info("%s %s %d", scope["method"], scope["path"], status, extra={
                "request_id": request_id, "operation_id": operation,
                "method": scope["method"], "path": scope["path"], "status": status,
                "duration_ms": round(elapsed * 1000, 2)})

    return middleware
