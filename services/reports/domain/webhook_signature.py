"""How a webhook delivery is signed, and how a receiver checks it (stdlib only, so another
system can copy this module as it is).

Every delivery carries three headers:

* `Webhook-Id`: the event's id; the same on every attempt, so a receiver dedupes by it;
* `Webhook-Timestamp`: when this attempt was signed, Unix seconds;
* `Webhook-Signature`: `v1=` and the lowercase hex HMAC-SHA256, keyed with the
  subscription's secret, of `<timestamp>.` followed by the exact body bytes.

The timestamp is inside the signature, so a captured delivery cannot be replayed later
than the receiver's tolerance with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac

ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
SCHEME = "v1="
# How far a delivery's timestamp may be from the receiver's clock (seconds).
TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {ID_HEADER: event_id, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            "Content-Type": "application/json"}


def verify(secret: str, timestamp_header: str | None, signature_header: str | None,
           body: bytes, now: float, tolerance: int = TOLERANCE) -> bool:
    """Whether a delivery is genuine and fresh: the signature matches (compared in constant
    time) and its timestamp is within `tolerance` seconds of `now`."""
    if not timestamp_header or not signature_header:
        return False
    if not timestamp_header.isascii() or not timestamp_header.isdigit():
        return False
    timestamp = int(timestamp_header)
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)
