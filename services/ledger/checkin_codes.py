"""Rotating check-in codes: a photo of the code sent to a group chat soon stops working.

A code is six digits derived, like a TOTP, from an HMAC of (tenant, activity, time window)
under a server secret (env `CHECKIN_CODE_SECRET`). The window is `PERIOD` long; the code of
the window just before is still accepted (the grace), so a member who scanned a moment
before the change is not turned away. A valid code earns the phone a signed *presence pass*
for the activity, so a check-in that is retried over a poor network is judged by when the
member scanned, not by when the network finally let the request through.

The printed poster cannot rotate. Its QR carries a *poster token*: an HMAC of (tenant,
activity, the activity's Shanghai day) under the same secret, accepted only while the
activity's check-in is open (from the grace before the start to the end) and only for
that day, so a poster photographed into a group chat is useless before and after the
activity and for any other activity or a rescheduled day. Inside the window a photo does
work from anywhere: check-ins made with the poster alone are flagged `poster_only` for the
organiser who confirms who really served, while the live screen's rotating code (scanned
or typed) proves presence within minutes and carries no flag (docs/SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PERIOD = timedelta(minutes=3)
# Windows before the current one whose codes are still accepted.
GRACE_WINDOWS = 1
DIGITS = 6


@dataclass(frozen=True)
class RotatingCode:
    code: str
    # When this code stops being shown; it is still accepted for GRACE_WINDOWS more periods.
    changes_at: datetime
    accepted_until: datetime


def _window(now: datetime) -> int:
    return int(now.timestamp()) // int(PERIOD.total_seconds())


def _code(secret: bytes, tenant_id: str, activity_id: uuid.UUID, window: int) -> str:
    digest = hmac.new(secret, f"{tenant_id}|{activity_id}|{window}".encode(),
                      hashlib.sha256).digest()
    # RFC 4226 dynamic truncation, so every digit position is equally likely.
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current(secret: bytes, tenant_id: str, activity_id: uuid.UUID,
            now: datetime) -> RotatingCode:
    window = _window(now)
    seconds = int(PERIOD.total_seconds())
    changes_at = datetime.fromtimestamp((window + 1) * seconds, UTC)
    return RotatingCode(code=_code(secret, tenant_id, activity_id, window),
                        changes_at=changes_at,
                        accepted_until=changes_at + PERIOD * GRACE_WINDOWS)


def is_valid(secret: bytes, tenant_id: str, activity_id: uuid.UUID, code: str,
             now: datetime) -> bool:
    code = code.strip()
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return False
    window = _window(now)
    # Check every accepted window (no early exit) so the answer takes the same time.
    matches = [hmac.compare_digest(_code(secret, tenant_id, activity_id, w), code)
               for w in range(window - GRACE_WINDOWS, window + 1)]
    return any(matches)


def poster_token(secret: bytes, tenant_id: str, activity_id: uuid.UUID, day: date) -> str:
    """What the poster's QR carries: fixed for the day, so reprinting gives the same poster."""
    digest = hmac.new(secret, f"poster|{tenant_id}|{activity_id}|{day.isoformat()}".encode(),
                      hashlib.sha256).hexdigest()
    return f"{day:%Y%m%d}.{digest[:32]}"


def poster_valid(secret: bytes, tenant_id: str, activity_id: uuid.UUID, token: str,
                 day: date) -> bool:
    """True if `token` is this activity's poster for `day` (the activity's current day)."""
    token = token.strip()
    # compare_digest refuses non-ASCII text; such a token is simply not ours.
    if len(token) > 64 or not token.isascii():
        return False
    return hmac.compare_digest(poster_token(secret, tenant_id, activity_id, day), token)
