"""The reports' refusals, answered as the shared RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

from contract.problems import Refusal


def problem(status: int, code: str, zh: str, en: str, *, field: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Refusal:
    return Refusal(code, zh, en, field=field, status=status, headers=headers, **extra)


def invalid(field: str, zh: str, en: str, code: str = "invalid_value") -> Refusal:
    """A value that can never be accepted (422)."""
    return problem(422, code, zh, en, field=field)


def not_found(what_zh: str, what_en: str) -> Refusal:
    return problem(404, "not_found", f"{what_zh}不存在", f"no such {what_en}")

