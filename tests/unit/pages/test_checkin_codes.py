"""Rotating check-in codes: stable within a window, accepted one window late, then refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from ledger import checkin_codes
from ledger.checkin_codes import PERIOD

SECRET = b"unit-test-secret-unit-test-secret"
ACTIVITY = uuid.UUID("6f1c3f63-8f35-4c57-9a55-1b1d1d6a0c11")
START = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # a window boundary (3-minute periods)


def test_a_code_is_six_digits_and_stable_within_its_window() -> None:
    first = checkin_codes.current(SECRET, "t-1", ACTIVITY, START)
    later = checkin_codes.current(SECRET, "t-1", ACTIVITY, START + PERIOD - timedelta(seconds=1))
    assert len(first.code) == 6 and first.code.isdigit()
    assert later.code == first.code
    assert first.changes_at == START + PERIOD
    assert first.accepted_until == START + 2 * PERIOD


def test_the_code_rotates_and_differs_per_activity_tenant_and_secret() -> None:
    codes = {checkin_codes.current(SECRET, "t-1", ACTIVITY, START + i * PERIOD).code
             for i in range(20)}
    assert len(codes) > 15  # six digits: a repeat in 20 windows is possible but rare
    base = checkin_codes.current(SECRET, "t-1", ACTIVITY, START).code
    others = [checkin_codes.current(SECRET, "t-2", ACTIVITY, START).code,
              checkin_codes.current(SECRET, "t-1", uuid.UUID(int=7), START).code,
              checkin_codes.current(b"another-secret-another-secret-xx", "t-1", ACTIVITY,
                                    START).code]
    # Fixed inputs, so this is deterministic: each input changes the code.
    assert base not in others


def test_the_previous_window_is_grace_and_older_codes_are_refused() -> None:
    code = checkin_codes.current(SECRET, "t-1", ACTIVITY, START).code
    assert checkin_codes.is_valid(SECRET, "t-1", ACTIVITY, code, START)
    assert checkin_codes.is_valid(SECRET, "t-1", ACTIVITY, code, START + PERIOD)  # grace
    assert checkin_codes.is_valid(SECRET, "t-1", ACTIVITY, f" {code} ", START)
    assert not checkin_codes.is_valid(SECRET, "t-1", ACTIVITY, code, START + 2 * PERIOD)
    assert not checkin_codes.is_valid(SECRET, "t-2", ACTIVITY, code, START)


def test_malformed_codes_are_refused() -> None:
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６", "12 456"):
        assert not checkin_codes.is_valid(SECRET, "t-1", ACTIVITY, bad, START)


def test_the_poster_token_is_bound_to_tenant_activity_and_day() -> None:
    day = date(2026, 3, 1)
    token = checkin_codes.poster_token(SECRET, "t-1", ACTIVITY, day)
    assert token == checkin_codes.poster_token(SECRET, "t-1", ACTIVITY, day)  # reprintable
    assert checkin_codes.poster_valid(SECRET, "t-1", ACTIVITY, token, day)
    assert checkin_codes.poster_valid(SECRET, "t-1", ACTIVITY, f" {token} ", day)
    # Rescheduled to another day, another activity or tenant, another secret, tampered.
    assert not checkin_codes.poster_valid(SECRET, "t-1", ACTIVITY, token, day + timedelta(1))
    assert not checkin_codes.poster_valid(SECRET, "t-1", uuid.UUID(int=7), token, day)
    assert not checkin_codes.poster_valid(SECRET, "t-2", ACTIVITY, token, day)
    assert not checkin_codes.poster_valid(b"another-secret-another-secret-xx", "t-1",
                                          ACTIVITY, token, day)
    assert not checkin_codes.poster_valid(SECRET, "t-1", ACTIVITY, token[:-1] + "0"
                                          if token[-1] != "0" else token[:-1] + "1", day)
    for junk in ("", "签到", token + "x" * 100, "\x00"):
        assert not checkin_codes.poster_valid(SECRET, "t-1", ACTIVITY, junk, day)
