"""Stored events of an older schema version decode as the current shape (`UPCASTERS`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
import pytest

from contract.calendar import SHANGHAI
from contract.events import (
    BY_NAME,
    UPCASTERS,
    ActivityScheduled,
    CertificateIssued,
    CertificateMonth,
    current_decoders,
    decode_data,
    encode_data,
    upcast,
)

# An ActivityScheduled exactly as the ledger stored it at schema version 1 (canonical JSON,
# sorted keys), before `beneficiary` existed.
V1_SCHEDULED = (
    '{"activity_id":"00000000-0000-0000-0000-00000000000a","capacity":null,'
    '"category":"attendance","ends_at":"2025-03-08T15:30:00+08:00",'
    '"host_unit_id":"00000000-0000-0000-0000-00000000000b","hours_cap_minutes":null,'
    '"kind":"meeting","organiser_ids":["00000000-0000-0000-0000-00000000000c"],'
    '"place":"活动室","starts_at":"2025-03-08T14:00:00+08:00","title":"党员座谈会"}'
).encode()


def test_a_v1_activity_scheduled_upcasts_with_no_beneficiary() -> None:
    assert ActivityScheduled.VERSION == 2
    event = decode_data("ActivityScheduled", 1, V1_SCHEDULED)
    assert event == ActivityScheduled(
        activity_id=uuid.UUID(int=10), kind="meeting", category="attendance",
        host_unit_id=uuid.UUID(int=11), title="党员座谈会", place="活动室",
        starts_at=datetime(2025, 3, 8, 14, tzinfo=SHANGHAI),
        ends_at=datetime(2025, 3, 8, 15, 30, tzinfo=SHANGHAI),
        organiser_ids=[uuid.UUID(int=12)], beneficiary="",
    )


def test_the_upcaster_only_adds_the_field() -> None:
    raw = msgspec.json.decode(V1_SCHEDULED)
    upcast_raw = UPCASTERS[("ActivityScheduled", 1)](raw)
    assert upcast_raw == {**raw, "beneficiary": ""}
    assert "beneficiary" not in raw  # the stored (and hashed) data is not touched
    # Once upcast, it is what a v2 writer stores for an activity without a beneficiary.
    assert encode_data(decode_data("ActivityScheduled", 1, V1_SCHEDULED)) == (
        msgspec.json.encode(upcast_raw, order="sorted"))


def test_current_data_is_not_upcast() -> None:
    v2 = encode_data(ActivityScheduled(
        activity_id=uuid.UUID(int=10), kind="forum", category="attendance",
        host_unit_id=uuid.UUID(int=11), title="居民议事会", place="议事厅",
        starts_at=datetime(2026, 10, 17, 9, tzinfo=SHANGHAI),
        ends_at=datetime(2026, 10, 17, 11, tzinfo=SHANGHAI), beneficiary="居民代表"))
    assert decode_data("ActivityScheduled", 2, v2).beneficiary == "居民代表"
    version, decode = current_decoders()["ActivityScheduled"]
    assert version == 2 and decode(v2) == decode_data("ActivityScheduled", 2, v2)


def test_every_version_step_has_an_upcaster() -> None:
    for name, cls in BY_NAME.items():
        for version in range(1, cls.VERSION):
            assert (name, version) in UPCASTERS, (name, version)
    assert upcast("UnitRenamed", 1, {"name": "x"}) == {"name": "x"}


def test_a_v1_event_without_its_upcaster_would_not_decode(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.delitem(UPCASTERS, ("ActivityScheduled", 1))
    with pytest.raises(KeyError):
        decode_data("ActivityScheduled", 1, V1_SCHEDULED)


def test_a_v1_certificate_was_issued_unasked() -> None:
    current = CertificateIssued(
        number="ZYFW-2026-AAAAAAAAAAAA", member_id=uuid.UUID(int=1), first_month="2026-03",
        last_month="2026-03", minutes=60, activities=1,
        months=[CertificateMonth(month="2026-03", minutes=60, activities=1, content="清扫")],
        issuer_unit_id=uuid.UUID(int=2), issued_by=uuid.UUID(int=3),
        issued_at=datetime(2026, 4, 1, 9, tzinfo=SHANGHAI), request_id=uuid.UUID(int=4))
    # What a v1 writer stored: the same without `request_id`.
    v1 = msgspec.json.decode(encode_data(current))
    del v1["request_id"]
    assert CertificateIssued.VERSION == 2
    assert decode_data("CertificateIssued", 1, msgspec.json.encode(v1)) == \
        msgspec.structs.replace(current, request_id=None)
