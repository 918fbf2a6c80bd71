"""Every error answers RFC 9457 problem details; validation problems name the field."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

PROBLEM_BASE = "/problems/"


def problem(status: int, code: str, zh: str, en: str, *, field: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> ProblemDetailsException:
    body: dict[str, Any] = {"code": code, "detail_en": en, **extra}
    if field is not None:
        body["field"] = field
        body["invalid_params"] = [{"name": field, "reason": zh}]
    return ProblemDetailsException(status_code=status, type_=PROBLEM_BASE + code, title=en,
                                   detail=zh, headers=headers, extra=body)


def invalid(field: str, zh: str, en: str) -> ProblemDetailsException:
    return problem(400, "invalid_request", zh, en, field=field)


def not_found(what_zh: str, what_en: str) -> ProblemDetailsException:
    return problem(404, "not_found", f"{what_zh}不存在", f"no such {what_en}")


def forbidden() -> ProblemDetailsException:
    return problem(403, "forbidden", "超出您的权限范围", "outside the token's scope")


def from_validation(error: ValidationException) -> ProblemDetailsException:
    """Litestar reports decoding errors as [{message, key, source}]."""
    params = [
        {"name": item.get("key") or "body", "reason": item.get("message", ""),
         "in": item.get("source", "body")}
        for item in (error.extra if isinstance(error.extra, list) else [])
        if isinstance(item, dict)
    ]
    extra: dict[str, Any] = {"code": "invalid_request", "invalid_params": params}
    if params:
        extra["field"] = params[0]["name"]
    detail = "；".join(f"{p['name']}: {p['reason']}" for p in params)
    return ProblemDetailsException(
        status_code=400, type_=PROBLEM_BASE + "invalid_request", title="Invalid request",
        detail="请求内容有误" + (f"：{detail}" if detail else ""), extra=extra,
    )


def from_not_authorized(error: NotAuthorizedException) -> ProblemDetailsException:
    return problem(401, "unauthorized", "需要有效的访问令牌（Authorization: Bearer …）",
                   error.detail, headers={"WWW-Authenticate": "Bearer"})


def from_http(error: HTTPException) -> ProblemDetailsException:
    return ProblemDetailsException(status_code=error.status_code, title=error.detail,
                                   detail=error.detail, headers=error.headers,
                                   extra={"code": f"http_{error.status_code}"})


CONFIG = ProblemDetailsConfig(
    exception_to_problem_detail_map={
        ValidationException: from_validation,
        NotAuthorizedException: from_not_authorized,
        HTTPException: from_http,
    },
)
