"""What the services accept at the door, the same for both: text, numbers, identifiers.

In an append-only ledger whatever is accepted stays forever, so every value has a bound
and is refused (422, naming the field) before any work is done:

* **Text** holds no control character (Unicode category Cc: U+0000–U+001F, U+007F–U+009F).
  PostgreSQL cannot store NUL at all, and the others garble printed records, exports and
  logs. Free text a person types in a box of several lines (a reason, an objection) may
  hold tab, line feed and carriage return (a browser's textarea sends CRLF); every other
  text (names, titles, numbers, months, query and path parameters) is one line.
* **Numbers** fit the database column they reach (`INT4_MAX`, `INT8_MAX`) and usually a
  much smaller bound of their own.
* **Request and correlation ids** (`X-Request-Id`, `X-Correlation-Id`), which the ledger
  keeps in event metadata, are 1–128 visible ASCII characters, or refused (never cut: a
  shortened id would no longer find anything).

The command Structs carry these bounds as msgspec constraints (`line`, `text`, `integer`),
so decoding refuses them and the OpenAPI schema states them; the decisions apply the same
rule (`clean`) to what reaches them by other ways (the pages, imports).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from contract.problems import Refusal, invalid

_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# msgspec matches a pattern with re.search, where `$` also matches before a final line
# feed; the lookahead refuses that (and is a no-op for ECMAScript's `$`, so the pattern
# means the same to a client reading the OpenAPI schema).
LINE_PATTERN = rf"^[^{_CONTROLS}]*$(?!\n)"
TEXT_PATTERN = rf"^[^{_CONTROLS_BUT_LINES}]*$"
_LINE = re.compile(f"[{_CONTROLS}]")
_TEXT = re.compile(f"[{_CONTROLS_BUT_LINES}]")

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1

_ZH = "不能含控制字符（如 NUL）"
_EN = "must not contain control characters (such as NUL)"

_ID = re.compile(r"[\x21-\x7e]{1,128}")


def line(max_length: int, *, min_length: int = 0) -> Any:
    """A one-line string type of at most `max_length` characters."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length,
                                       pattern=LINE_PATTERN)]


def text(max_length: int) -> Any:
    """Free text of several lines (tab, LF and CR allowed), at most `max_length`."""
    return Annotated[str, msgspec.Meta(max_length=max_length, pattern=TEXT_PATTERN)]


def integer(ge: int, le: int) -> Any:
    return Annotated[int, msgspec.Meta(ge=ge, le=le)]


def has_controls(value: str, *, multiline: bool = False) -> bool:
    return (_TEXT if multiline else _LINE).search(value) is not None


def control_characters(field: str, source: str | None = None) -> Refusal:
    """`source`: "query" or "path" when the field is not in the body."""
    return invalid("control_characters", _ZH, f"{field} {_EN}", field, source=source)


def clean(value: str, field: str, *, multiline: bool = False) -> str:
    """`value` without surrounding blanks, or refused if it holds a control character."""
    if has_controls(value, multiline=multiline):
        raise control_characters(field)
    return value.strip()


def is_control_pattern(message: str) -> bool:
    """Whether a msgspec validation message is about one of the patterns above."""
    return repr(LINE_PATTERN) in message or repr(TEXT_PATTERN) in message


def request_id(value: str | None, header: str) -> str | None:
    """A request or correlation id as sent (None if absent), or refused."""
    if value is None:
        return None
    if not is_request_id(value):
        raise invalid("invalid_header", f"{header} 须为1至128个可见ASCII字符",
                      f"{header}: 1–128 visible ASCII characters", header, source="header")
    return value


def is_request_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None
