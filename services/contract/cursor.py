"""The feed cursor: "<txid>-<position>", the (transaction id, position) of the last event a
reader has seen. The ledger hands it out with every feed page; readers pass it back as
`after` and keep it as their checkpoint.
"""

from __future__ import annotations

Cursor = tuple[int, int]  # (txid, position)

START: Cursor = (0, 0)
# Both halves are PostgreSQL bigints (xid8 and an identity column).
_MAX = 2**63 - 1
_DIGITS = len(str(_MAX))
MAX_LENGTH = 2 * _DIGITS + 1


def format_cursor(cursor: Cursor) -> str:
    return f"{cursor[0]}-{cursor[1]}"


def _number(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > _DIGITS:
        return None
    value = int(text)
    return value if value <= _MAX else None


def parse_cursor(text: str | None) -> Cursor:
    """The cursor a reader passed; None or "" is the start. Raises ValueError for anything
    but two non-negative bigints joined by "-"."""
    if not text:
        return START
    txid, sep, position = text.partition("-")
    parsed = (_number(txid), _number(position))
    if not sep or parsed[0] is None or parsed[1] is None:
        raise ValueError(f"not a feed cursor: {text[:40]!r}")
    return (parsed[0], parsed[1])


def parse_position(text: str) -> Cursor | int:
    """A feed cursor, or a bare position as an append returns it."""
    if "-" in text:
        return parse_cursor(text)
    position = _number(text)
    if position is None:
        raise ValueError(f"not a feed cursor or position: {text[:40]!r}")
    return position
