"""What both services' Litestar apps install: the check at the door and the error handlers.

`at_the_door` is the apps' `before_request` hook: it runs after the access guard and before
Litestar reads the handler's arguments. It refuses control characters in every query and
path parameter (so no route can forget), and decodes a JSON body **strictly** against the
handler's `data` type: Litestar itself converts the body in msgspec's lax mode, which turns
`"59"` into 59 and an epoch number into a datetime, and a command writes what it is given
into events that stay forever. Litestar's own (lax) conversion of a body that passed is
then the identity.

`handlers` answers every exception with a problem details document (contract.problems) and
logs each 5xx with the request id, which the problem carries too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg

from contract.bounds import control_characters, has_controls, is_control_pattern
from contract.metrics import REFUSALS
from contract.observe import request_id_of
from contract.problems import COMMON_PROBLEMS, Converter, Refusal

log = logging.getLogger("problems")

# msgspec names the place of an error as a JSON path: "… - at `$.confirmations[0].minutes`".
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)


def _json_body_type(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None or not isinstance(data.annotation, type) \
            or not issubclass(data.annotation, msgspec.Struct):
        return None
    body = data.kwarg_definition
    if isinstance(body, BodyKwarg) and body.media_type not in (RequestEncodingType.JSON, None):
        return None  # a form (the pages): every value arrives as text
    return data.annotation


def _refused(error: msgspec.ValidationError) -> Exception:
    found = _AT.match(str(error))
    assert found is not None  # the pattern matches any text
    message, path = found["message"], found["path"] or None
    if is_control_pattern(message):
        return control_characters(path or "body")
    # The shape Litestar gives its own validation errors (contract.problems.from_validation).
    return ValidationException(extra=[{"message": message, "key": path, "source": "body"}])


async def at_the_door(request: Request[Any, Any, Any]) -> None:
    for name, value in request.query_params.multi_items():
        if has_controls(value):
            raise control_characters(name, "query")
    for name, value in request.path_params.items():
        if isinstance(value, str) and has_controls(value):
            raise control_characters(name, "path")
    body_type = _json_body_type(request.route_handler)
    body = await request.body() if body_type is not None else b""
    if not body:
        return
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as error:
        raise _refused(error) from None
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar answers 400 when it reads the body
    except UnicodeDecodeError:
        # A string that is not UTF-8 (stray bytes, an encoded lone surrogate): msgspec
        # raises this, not a DecodeError, and Litestar would answer 500.
        raise Refusal("invalid_request", "请求内容不是有效的 UTF-8 文本",
                      "The body is not valid UTF-8", field="body", status=400) from None


def handlers(service_problems: Mapping[type[Exception], Converter]
             ) -> dict[type[Exception], Callable[..., Response[Any]]]:
    """The app's exception handlers: every exception answers a problem details document;
    a 5xx, and a value that reached the database unchecked, is logged with the request id
    (the caller's X-Request-Id, or one made up), which the problem carries as well."""
    conversions = {**COMMON_PROBLEMS, **service_problems}

    def handle(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
        convert = next(conversions[kind] for kind in type(error).__mro__
                       if kind in conversions)
        problem = convert(error)
        status = problem.status_code
        assert isinstance(problem.extra, dict)
        REFUSALS.labels(problem.extra.get("code", "unknown"), str(status)).inc()
        unchecked = isinstance(error, asyncpg.DataError)
        if status >= 500 or unchecked:
            request_id = request_id_of(request.scope)
            problem.extra["request_id"] = request_id
            unexpected = status == 500 or unchecked
            log.log(logging.ERROR if unexpected else logging.WARNING,
                    "%s %s answered %d %s (request id %s): %r", request.method,
                    request.url.path, status, problem.extra.get("code"), request_id, error,
                    exc_info=error if unexpected else None,
                    extra={"request_id": request_id, "status": status})
        return problem.to_response(request)

    return {Exception: handle}
