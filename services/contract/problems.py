"""Refusals and RFC 9457 problem details, the same for both services.

A `Refusal` is why a command or a read was refused: a stable `code` (clients may branch on
it), `zh` and `en` for people, the `field` at fault when there is one, and the HTTP status.
Every error either service answers is a problem details document with `code`, and with
`field` and `invalid_params` when an input is at fault:

* 400 `invalid_request`: the request cannot be read as one (malformed JSON, an unknown or
  missing field or parameter, a body that is not an object);
* 404 `not_found`: no such route, or a path parameter that cannot name anything (an id
  that is not a UUID, a number out of range);
* 422 `invalid_value` (or a more precise code, e.g. `control_characters`): a value that
  can never be accepted (wrong type: no coercion, out of its bounds);
* 503 `database_unavailable` with `Retry-After` while PostgreSQL cannot be reached;
* 500 `internal_error` for anything unexpected.

contract.door installs these as the apps' exception handlers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import asyncpg
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsException

PROBLEM_BASE = "/problems/"


class Refusal(Exception):
    def __init__(self, code: str, zh: str, en: str, *, field: str | None = None,
                 status: int = 409, headers: dict[str, str] | None = None,
                 source: str | None = None, **extra: Any) -> None:
        super().__init__(en)
        self.code = code
        self.zh = zh
        self.en = en
        self.field = field
        self.status = status
        self.headers = headers
        # Where the field is when it is not in the body: "query", "path", "header".
        self.source = source
        self.extra = extra


def invalid(code: str, zh: str, en: str, field: str, *, source: str | None = None) -> Refusal:
    """Input that can never be accepted, whatever the state (422)."""
    return Refusal(code, zh, en, field=field, status=422, source=source)


def not_found(code: str, zh: str, en: str, field: str | None = None) -> Refusal:
    return Refusal(code, zh, en, field=field, status=404)


def forbidden(zh: str = "超出此令牌的组织范围",
              en: str = "outside this token's organisation scope") -> Refusal:
    return Refusal("forbidden", zh, en, status=403)


def _problem(status: int, code: str, en: str, zh: str, *, field: str | None = None,
             params: list[dict[str, Any]] | None = None,
             headers: dict[str, str] | None = None, **extra: Any) -> ProblemDetailsException:
    body: dict[str, Any] = {"code": code, "detail_en": en, **extra}
    if field is not None:
        body["field"] = field
        body["invalid_params"] = params or [{"name": field, "reason": zh}]
    return ProblemDetailsException(status_code=status, type_=PROBLEM_BASE + code, title=en,
                                   detail=zh, headers=headers, extra=body)


def from_refusal(refusal: Refusal) -> ProblemDetailsException:
    params = None
    if refusal.field is not None:
        params = [{"name": refusal.field, "reason": refusal.zh,
                   **({"in": refusal.source} if refusal.source else {})}]
    return _problem(refusal.status, refusal.code, refusal.en, refusal.zh, field=refusal.field,
                    params=params, headers=refusal.headers, **refusal.extra)


# --- Litestar's validation errors --------------------------------------------------------

# msgspec's messages, in Chinese. Anything not listed keeps its English text.
_TYPES = {"int": "整数", "str": "字符串", "float": "数字", "bool": "布尔值", "null": "null",
          "object": "对象", "array": "数组", "datetime": "时间", "date": "日期", "uuid": "UUID"}
_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Expected `([^`]+)`, got `([^`]+)`"),
     lambda m: f"应为{_type(m[1])}，不能是{_type(m[2])}"),
    (re.compile(r"Expected `str` of length <= (\d+)"), lambda m: f"最多{m[1]}个字符"),
    (re.compile(r"Expected `str` of length >= (\d+)"), lambda m: f"至少{m[1]}个字符"),
    (re.compile(r"Expected `array` of length <= (\d+)"), lambda m: f"最多{m[1]}项"),
    (re.compile(r"Expected `array` of length >= (\d+)"), lambda m: f"至少{m[1]}项"),
    (re.compile(r"Expected `(?:int|float)` <= (\S+)"), lambda m: f"不能大于{m[1]}"),
    (re.compile(r"Expected `(?:int|float)` >= (\S+)"), lambda m: f"不能小于{m[1]}"),
    (re.compile(r"Expected `str` matching regex"), lambda m: "格式不符"),
    (re.compile(r"Invalid enum value '(.*)'"), lambda m: f"取值无效：{m[1][:50]}"),
    (re.compile(r"Invalid UUID"), lambda m: "不是有效的 UUID"),
    (re.compile(r"Invalid RFC3339 encoded datetime"),
     lambda m: "不是有效的时间（ISO 8601，带时区，如 2026-03-01T09:00:00+08:00）"),
    (re.compile(r"Invalid RFC3339 encoded date"), lambda m: "不是有效的日期（YYYY-MM-DD）"),
    (re.compile(r"Object contains unknown field `([^`]+)`"), lambda m: f"未知字段 {m[1]}"),
    (re.compile(r"Object missing required field `([^`]+)`"), lambda m: f"缺少必填字段 {m[1]}"),
]
# Errors about the body's own fields name them in the message, not in the key.
_NAMED_FIELD = re.compile(r"field `([^`]+)`")
_STRUCTURAL = ("Object contains unknown field", "Object missing required field")
_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _type(name: str) -> str:
    return " 或 ".join(_TYPES.get(part.strip(), part.strip()) for part in name.split("|"))


def _in_chinese(message: str) -> str:
    for pattern, say in _MESSAGES:
        if found := pattern.match(message):
            return say(found)
    return message


def _field_name(key: str | None, message: str) -> str:
    named = _NAMED_FIELD.search(message)
    if key and key != "data":
        return f"{key}.{named[1]}" if named else key
    return named[1] if named else "body"


def _status(message: str, key: str | None, source: str) -> tuple[int, str]:
    if source == "path":
        return 404, "not_found"
    if message.startswith(_STRUCTURAL) or (key in (None, "data")
                                           and message.startswith("Expected `object`")):
        return 400, "invalid_request"
    return 422, "invalid_value"


def from_validation(error: ValidationException) -> ProblemDetailsException:
    """Litestar (and contract.door) report decoding errors as [{message, key, source}]:
    name the field, say it in Chinese, and tell a malformed request (400) from a value that
    can never be accepted (422) and from a path that names nothing (404)."""
    items = [item for item in error.extra if isinstance(item, dict)] \
        if isinstance(error.extra, list) else []
    if not items and (missing := _MISSING_PARAMETER.search(error.detail)):
        items = [{"message": f"Object missing required field `{missing[2]}`",
                  "source": missing[1]}]
    if not items:
        return _problem(400, "invalid_request", error.detail or "Invalid request",
                        "请求内容有误", field="body")
    params, worst = [], (0, "invalid_request")
    for item in items:
        message, key = str(item.get("message", "")), item.get("key")
        # Litestar gives a ParamType (a str enum whose str() is "ParamType.PATH").
        source = getattr(item.get("source"), "value", item.get("source")) or "body"
        status, code = _status(message, key, source)
        # The most basic failure decides: a path naming nothing, then an unreadable
        # request, then a refused value.
        if worst[0] == 0 or status == 404 or (status == 400 and worst[0] == 422):
            worst = (status, code)
        params.append({"name": _field_name(key, message), "reason": _in_chinese(message),
                       "reason_en": message, "in": source})
    status, code = worst
    return _problem(
        status, code, "; ".join(f"{p['name']}: {p['reason_en']}" for p in params),
        "请求内容有误：" + "；".join(f"{p['name']}：{p['reason']}" for p in params),
        field=params[0]["name"], params=params)


def from_not_authorized(error: NotAuthorizedException) -> ProblemDetailsException:
    return _problem(401, "unauthorized", error.detail,
                    "需要有效的访问令牌（Authorization: Bearer …）",
                    headers={"WWW-Authenticate": "Bearer"})


# Litestar's own HTTP errors, each with a stable code (and the field when there is one).
_HTTP: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request", "请求格式有误（如 JSON 不完整）", "body"),
    403: ("forbidden", "无权执行此操作", None),
    404: ("not_found", "请求的地址不存在", None),
    405: ("method_not_allowed", "此地址不支持该请求方法", None),
    413: ("body_too_large", "请求内容过大", "body"),
    415: ("unsupported_media_type", "不支持该内容类型", "body"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试", None),
}


def from_http(error: HTTPException) -> ProblemDetailsException:
    code, zh, field = _HTTP.get(error.status_code, (f"http_{error.status_code}",
                                                    error.detail, None))
    if error.status_code >= 500:
        code, zh = "internal_error", "服务器内部错误，请稍后重试"
    return _problem(error.status_code, code, error.detail, zh, field=field,
                    headers=error.headers)


def from_unavailable(_error: Exception) -> ProblemDetailsException:
    return _problem(503, "database_unavailable", "The database is unreachable; retry later",
                    "数据库暂时无法连接，请稍后重试", headers={"Retry-After": "5"})


def from_unchecked_data(_error: asyncpg.DataError) -> ProblemDetailsException:
    """A value PostgreSQL refused (out of a column's range, NUL in text): the bounds at the
    door should have refused it first; logged (contract.door) so that it gets one."""
    return _problem(422, "invalid_value", "A value is out of range or malformed",
                    "请求中的某个值超出范围或格式有误", field="body")


def from_unexpected(_error: Exception) -> ProblemDetailsException:
    return _problem(500, "internal_error", "Internal server error",
                    "服务器内部错误，请稍后重试")


Converter = Callable[[Any], ProblemDetailsException]

# PostgreSQL unreachable: refused or lost connections, the server shutting down or not yet
# accepting connections, too many clients, the pool closed, a socket error or a timeout on
# connect (OSError covers both).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError, asyncpg.InterfaceError, OSError,
)

# Each service adds its own exceptions (contract.door.handlers); a lookup walks the MRO.
COMMON_PROBLEMS: dict[type[Exception], Converter] = {
    ProblemDetailsException: lambda error: error,
    Refusal: from_refusal,
    ValidationException: from_validation,
    NotAuthorizedException: from_not_authorized,
    HTTPException: from_http,
    asyncpg.DataError: from_unchecked_data,
    **dict.fromkeys(DATABASE_UNAVAILABLE, from_unavailable),
    Exception: from_unexpected,
}
