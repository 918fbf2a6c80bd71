"""Why a command was refused. The HTTP layer turns a Refusal into an RFC 9457 problem."""

from __future__ import annotations


class Refusal(Exception):
    """A command that the current state does not allow.

    `code` is stable (clients may branch on it); `zh` and `en` are for people; `field`
    names the input at fault, when there is one; `status` is the HTTP status to answer.
    """

    def __init__(self, code: str, zh: str, en: str, *, field: str | None = None,
                 status: int = 409) -> None:
        super().__init__(en)
        self.code = code
        self.zh = zh
        self.en = en
        self.field = field
        self.status = status


def invalid(code: str, zh: str, en: str, field: str) -> Refusal:
    """Input that can never be accepted, whatever the state (422)."""
    return Refusal(code, zh, en, field=field, status=422)


def not_found(code: str, zh: str, en: str, field: str | None = None) -> Refusal:
    return Refusal(code, zh, en, field=field, status=404)


def forbidden(zh: str, en: str) -> Refusal:
    return Refusal("forbidden", zh, en, status=403)
