"""Small signed values for cookies and hidden fields: `base64url(json).base64url(hmac)`.

Used for the member's remembered identity, the organiser's session and the presence pass.
The payload is readable by its holder (nothing secret goes in it) but cannot be forged or
moved to another purpose: the purpose is part of what is signed. Each payload carries
`iat` (issued at, Unix seconds) and is refused once older than the caller's max age.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import msgspec


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the signing secret needs at least 16 bytes")
        self._secret = secret

    def _mac(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}.{body}".encode(),
                             hashlib.sha256).digest())

    def sign(self, purpose: str, payload: dict[str, Any], now: datetime) -> str:
        body = _b64(msgspec.json.encode({**payload, "iat": int(now.timestamp())}))
        return f"{body}.{self._mac(purpose, body)}"

    def unsign(self, purpose: str, value: str | None, *, max_age: timedelta,
               now: datetime) -> dict[str, Any] | None:
        """The payload, or None if missing, forged, for another purpose or too old."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        try:
            payload = msgspec.json.decode(_unb64(body))
        except (binascii.Error, ValueError, msgspec.DecodeError):
            return None
        issued = payload.get("iat") if isinstance(payload, dict) else None
        if not isinstance(issued, int):
            return None
        age = now.timestamp() - issued
        # A little slack for clocks: a value "from the future" by more than a minute is bogus.
        if age > max_age.total_seconds() or age < -60:
            return None
        return payload
