"""Every error answers RFC 9457 problem details; validation problems name the field."""

from __future__ import annotations

import re
from typing import Any

from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

from ledger.adapters.event_store import EventIdConflict, WrongExpectedVersion
from ledger.domain.refusals import Refusal
from ledger.handlers import TooBusy

PROBLEM_BASE = "/problems/"


def from_refusal(refusal: Refusal) -> ProblemDetailsException:
    extra: dict[str, Any] = {"code": refusal.code, "detail_en": refusal.en}
    if refusal.field is not None:
        extra["field"] = refusal.field
        extra["invalid_params"] = [{"name": refusal.field, "reason": refusal.zh}]
    return ProblemDetailsException(
        status_code=refusal.status, type_=PROBLEM_BASE + refusal.code, title=refusal.en,
        detail=refusal.zh, extra=extra,
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


def from_wrong_version(error: WrongExpectedVersion) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=409, type_=PROBLEM_BASE + "wrong_expected_version",
        title="The stream has moved on", detail="数据已被他人修改，请刷新后重试",
        extra={"code": "wrong_expected_version", "stream_id": error.stream_id,
               "expected_version": error.expected, "current_version": error.current},
    )


def from_event_id_conflict(error: EventIdConflict) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=409, type_=PROBLEM_BASE + "command_id_reused",
        title="This command id was already used for a different command",
        detail="该请求编号已用于另一项不同的操作", extra={"code": "command_id_reused",
                                          "field": "command_id",
                                          "event_id": str(error.event_id)},
    )


def from_too_busy(_error: TooBusy) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=503, type_=PROBLEM_BASE + "busy", title="Busy: retry with the same command_id",
        detail="系统繁忙，请稍后用同一请求编号重试", headers={"Retry-After": "1"},
        extra={"code": "busy"},
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


CONFIG = ProblemDetailsConfig(
    exception_to_problem_detail_map={
        Refusal: from_refusal,
        ValidationException: from_validation,
        WrongExpectedVersion: from_wrong_version,
        EventIdConflict: from_event_id_conflict,
        TooBusy: from_too_busy,
        NotAuthorizedException: from_not_authorized,
        HTTPException: from_http,
    },
)
