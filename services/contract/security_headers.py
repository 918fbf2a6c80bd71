"""The security headers every response of both services carries (pages, JSON, exports,
static files, errors alike): one `before_send` hook each app installs.

The pages run no inline script or style and no inline event handler: code and styles
come from the service's own `/static/`, which is all the Content-Security-Policy allows
(the browser tests fail on any violation). The OpenAPI viewer under `/schema` is
Litestar's Swagger UI page, an inline script starting the bundle the service serves itself
(contract.openapi_viewer); it gets the same headers but only the framing part of the policy.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
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


def security_headers(schema_path: str = "/schema") -> BeforeMessageSendHookHandler:
    """The hook for `Litestar(before_send=[...])`; `schema_path` is where the app serves
    its OpenAPI documents and viewer."""

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        path = scope.get("path", "")
        viewer = path == schema_path or path.startswith(schema_path + "/")
        wanted = {**HEADERS, "Content-Security-Policy":
                  SCHEMA_VIEWER_POLICY if viewer else CONTENT_SECURITY_POLICY}
        for name, value in wanted.items():
            if name not in headers:
                headers[name] = value

    return add_headers
