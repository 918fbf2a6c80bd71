"""The security headers every response of both services carries (pages, JSON, exports,
static files, errors alike): one `before_send` hook each app installs.

The pages run no inline script or style and no inline event handler: code and styles
come from the service's own `/static/`, which is all the Content-Security-Policy allows
(the browser tests fail on any violation). The OpenAPI viewer under `/schema` is
Litestar's Swagger UI page, an inline script starting the bundle the service serves itself
(contract.openapi_viewer); it gets the same headers but only the framing part of the policy.
"""

from __future__ import annotations

from litestar.types import BeforeMessageSendHookHandler, Message, Scope

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# What the OpenAPI viewer's page can live with: it may not be framed.
SCHEMA_VIEWER_POLICY = "frame-ancestors 'none'"

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # For browsers without CSP's frame-ancestors.
    "X-Frame-Options": "DENY",
    # Check-in links carry a rotating code and personal links a credential: their paths
    # and queries go to no other site.
    "Referrer-Policy": "same-origin",
}


def _encoded(policy: str) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode())
            for name, value in {**HEADERS, "Content-Security-Policy": policy}.items()]


def security_headers(schema_path: str = "/schema") -> BeforeMessageSendHookHandler:
    """The hook for `Litestar(before_send=[...])`; `schema_path` is where the app serves
    its OpenAPI documents and viewer. A header the response sets itself is kept."""
    pages = _encoded(CONTENT_SECURITY_POLICY)
    viewer = _encoded(SCHEMA_VIEWER_POLICY)

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path = scope.get("path", "")
        wanted = viewer if path == schema_path or path.startswith(schema_path + "/") else pages
        # The raw list, not MutableScopeHeaders: this runs on every response, and its
        # lookups re-decode every header each time (a tenth of a bare request's CPU).
        headers = list(message.get("headers", ()))
        present = {bytes(name).lower() for name, _ in headers}
        headers += [header for header in wanted if header[0] not in present]
        message["headers"] = headers

    return add_headers
