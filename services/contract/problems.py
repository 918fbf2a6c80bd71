"""Refusals and RFC 9457 problem details, the same for both services.

A `Refusal` is why a command or a read was refused: a stable `code` (clients may branch on
it), `zh` and `en` for people, the `field` at fault when there is one, and the HTTP status.
Every error either service answers is a problem details document with `code`, and with
`field` and `invalid_params` when an input is at fault.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsException

PROBLEM_BASE = "/problems/"


class Refusal(Exception):
    def __init__(self, code: str, zh: str, en: str, *, field: str | None = None,
                 status: int = 409, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(en)
        self.code = code
        self.zh = zh
        self.en = en
        self.field = field
        self.status = status
        self.headers = headers
        self.extra = extra


def invalid(code: str, zh: str, en: str, field: str) -> Refusal:
    """Input that can never be accepted, whatever the state (422)."""
    return Refusal(code, zh, en, field=field, status=422)


def not_found(code: str, zh: str, en: str, field: str | None = None) -> Refusal:
    return Refusal(code, zh, en, field=field, status=404)


def forbidden(zh: str = "超出此令牌的组织范围",
              en: str = "outside this token's organisation scope") -> Refusal:
    return Refusal("forbidden", zh, en, status=403)


def from_refusal(refusal: Refusal) -> ProblemDetailsException:
    extra: dict[str, Any] = {"code": refusal.code, "detail_en": refusal.en, **refusal.extra}
    if refusal.field is not None:
        extra["field"] = refusal.field
        extra["invalid_params"] = [{"name": refusal.field, "reason": refusal.zh}]
    return ProblemDetailsException(
        status_code=refusal.status, type_=PROBLEM_BASE + refusal.code, title=refusal.en,
        detail=refusal.zh, headers=refusal.headers, extra=extra,
    )


# Litestar turns msgspec's path into `key` ("data" for the body itself); errors about the
# body's own fields name them in the message: "Object contains unknown field `colour`".
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def _field_name(item: dict[str, Any]) -> str:
    key = item.get("key")
    if key and key != "data":
        return key
    found = _NAMED_FIELD.search(item.get("message", ""))
    return found.group(1) if found else "body"


def from_validation(error: ValidationException) -> ProblemDetailsException:
    """Litestar reports decoding errors as [{message, key, source}]; name the field."""
    params = []
    for item in error.extra if isinstance(error.extra, list) else []:
        if isinstance(item, dict):
            params.append({"name": _field_name(item), "reason": item.get("message", ""),
                           "in": item.get("source", "body")})
    extra: dict[str, Any] = {"code": "invalid_request", "invalid_params": params}
    if params:
        extra["field"] = params[0]["name"]
    return ProblemDetailsException(
        status_code=400, type_=PROBLEM_BASE + "invalid_request", title="Invalid request",
        detail="请求内容有误：" + "；".join(f"{p['name']}: {p['reason']}" for p in params)
        if params else "请求内容有误", extra=extra,
    )


def from_not_authorized(error: NotAuthorizedException) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=401, type_=PROBLEM_BASE + "unauthorized", title=error.detail,
        detail="需要有效的访问令牌（Authorization: Bearer …）",
        headers={"WWW-Authenticate": "Bearer"}, extra={"code": "unauthorized"},
    )


def from_http(error: HTTPException) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=error.status_code, title=error.detail, detail=error.detail,
        headers=error.headers, extra={"code": f"http_{error.status_code}"},
    )


# Each service's ProblemDetailsConfig starts from these and adds its own exceptions.
COMMON_PROBLEMS: dict[type[Exception], Any] = {
    Refusal: from_refusal,
    ValidationException: from_validation,
    NotAuthorizedException: from_not_authorized,
    HTTPException: from_http,
}
