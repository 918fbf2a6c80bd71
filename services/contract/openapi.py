"""What both services' OpenAPI documents say beyond their routes: the bearer scheme on
every operation that needs a token, and the problem details every operation may answer
(contract.problems says when each is given)."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)

from contract.guard import rule_of

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details; `code` is stable, clients may branch on it.",
    required=["type", "title", "status", "code"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="/problems/<code>"),
        "title": Schema(type=OpenAPIType.STRING, description="in English"),
        "detail": Schema(type=OpenAPIType.STRING, description="in Chinese"),
        "detail_en": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "code": Schema(type=OpenAPIType.STRING),
        "field": Schema(type=OpenAPIType.STRING, description="the input at fault, if any"),
        "invalid_params": Schema(type=OpenAPIType.ARRAY, items=Schema(
            type=OpenAPIType.OBJECT, properties={
                "name": Schema(type=OpenAPIType.STRING),
                "reason": Schema(type=OpenAPIType.STRING),
                "in": Schema(type=OpenAPIType.STRING, description="query, path or header"),
            })),
        "request_id": Schema(type=OpenAPIType.STRING, description="on a 5xx: quote it"),
    },
)

_WHY = {
    400: "invalid_request: the request cannot be read (malformed JSON, unknown or missing "
         "field or parameter)",
    401: "unauthorized: no token, or an unknown or revoked one",
    403: "forbidden: read-only token, wrong role, or outside the token's subtree",
    404: "not_found: nothing at this path, or a path parameter that names nothing",
    409: "a refusal by the ledger's rules (its code says which)",
    422: "invalid_value (or a more precise code): a value that is never accepted",
    503: "database_unavailable (or the other service unreachable), with Retry-After",
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _problem_response(status: int) -> OpenAPIResponse:
    return OpenAPIResponse(description=_WHY[status], content={
        "application/problem+json": OpenAPIMediaType(
            schema=Reference(ref="#/components/schemas/Problem"))})


def document(app: Litestar) -> None:
    """Complete the app's (cached) OpenAPI document; call once, after the routes exist."""
    schema = app.openapi_schema
    components = schema.components if isinstance(schema.components, Components) \
        else Components()
    schema.components = components
    components.schemas = {**(components.schemas or {}), "Problem": PROBLEM}
    components.security_schemes = {**(components.security_schemes or {}), "bearer":
                                   SecurityScheme(type="http", scheme="bearer",
                                                  description="lt_<token id>_<secret>")}
    rules = {handler.operation_id: rule_of(handler)
             for route in app.routes for handler in getattr(route, "route_handlers", [])
             if isinstance(getattr(handler, "operation_id", None), str)}
    declared = {handler.operation_id: set((handler.responses or {}).keys())
                for route in app.routes for handler in getattr(route, "route_handlers", [])
                if isinstance(getattr(handler, "operation_id", None), str)}
    for path, item in (schema.paths or {}).items():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if operation is None:
                continue
            rule = rules.get(operation.operation_id)
            public = rule is None or rule.public or rule.session
            operation.security = [] if public else [{"bearer": []}]
            statuses = [400, 422, 503]
            if not public:
                statuses += [401, 403]
            if "{" in path:
                statuses.append(404)
            if method != "get":
                statuses.append(409)
            responses = operation.responses = dict(operation.responses or {})
            # A status the route declares itself keeps its own body (`/ready`'s 503).
            for status in sorted(set(statuses) - declared.get(operation.operation_id, set())):
                responses[str(status)] = _problem_response(status)
