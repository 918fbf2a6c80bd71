"""Signed cookie values: readable, unforgeable, bound to a purpose, and they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.signed_values import Signer

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_round_trip_and_expiry() -> None:
    signer = Signer(b"0123456789abcdef0123456789abcdef")
    value = signer.sign("member", {"t": "t-1", "m": "abc"}, NOW)
    payload = signer.unsign("member", value, max_age=DAY, now=NOW + timedelta(hours=23))
    assert payload is not None and payload["m"] == "abc" and payload["t"] == "t-1"
    assert signer.unsign("member", value, max_age=DAY, now=NOW + DAY + timedelta(seconds=1)) \
        is None
    # Issued in the future (beyond a minute of clock slack): refused.
    assert signer.unsign("member", value, max_age=DAY, now=NOW - timedelta(minutes=5)) is None


def test_tampering_another_purpose_or_another_key_is_refused() -> None:
    signer = Signer(b"0123456789abcdef0123456789abcdef")
    value = signer.sign("member", {"m": "abc"}, NOW)
    body, mac = value.split(".")
    forged = signer.sign("member", {"m": "someone-else"}, NOW).split(".")[0] + "." + mac
    assert signer.unsign("member", forged, max_age=DAY, now=NOW) is None
    assert signer.unsign("organiser", value, max_age=DAY, now=NOW) is None
    other = Signer(b"another-key-another-key-another!")
    assert other.unsign("member", value, max_age=DAY, now=NOW) is None
    for junk in (None, "", "x", "a.b.c", body + ".", "!!!." + mac):
        assert signer.unsign("member", junk, max_age=DAY, now=NOW) is None


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        Signer(b"short")
