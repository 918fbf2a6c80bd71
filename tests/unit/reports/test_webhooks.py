"""Webhook rules without I/O: the signature, the backoff, the URLs accepted, what an event
concerns, the ids of deliveries."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import uuid

import pytest

from reports.domain import webhook_signature as signing
from reports.domain.webhooks import (
    ANY_HOST,
    EVENT_TYPES,
    REMINDER_TYPES,
    Allowlist,
    backoff,
    concerns,
    delivered,
    event_id,
    internal,
    reminder_event_id,
    unknown_types,
    unreachable,
    url_problem,
)

SECRET = "whsec_test-secret"
BODY = b'{"id":"e1","type":"CheckedIn"}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.signature(SECRET, 1700000000, BODY) == f"v1={expected}"
    headers = signing.headers(SECRET, "e1", 1700000000, BODY)
    assert headers["Webhook-Id"] == "e1"
    assert headers["Webhook-Timestamp"] == "1700000000"
    assert headers["Webhook-Signature"] == f"v1={expected}"


def test_verify_accepts_a_genuine_fresh_delivery() -> None:
    sig = signing.signature(SECRET, 1000, BODY)
    assert signing.verify(SECRET, "1000", sig, BODY, now=1000 + signing.TOLERANCE)


@pytest.mark.parametrize("secret, timestamp, body, now", [
    ("whsec_other", "1000", BODY, 1000),               # another subscription's secret
    (SECRET, "1000", BODY + b" ", 1000),              # the body changed
    (SECRET, "1001", BODY, 1001),                     # the timestamp changed
    (SECRET, "1000", BODY, 1000 + signing.TOLERANCE + 1),  # too old: a replayed capture
    (SECRET, "1000", BODY, 1000 - signing.TOLERANCE - 1),  # from the future
    (SECRET, "", BODY, 1000),
    (SECRET, "1e3", BODY, 1000),
    (SECRET, "١٠٠٠", BODY, 1000),                      # digits, but not ASCII ones
])
def test_verify_refuses(secret: str, timestamp: str, body: bytes, now: float) -> None:
    sig = signing.signature(SECRET, 1000, BODY)
    assert not signing.verify(secret, timestamp, sig, body, now)


def test_verify_refuses_a_missing_or_mangled_signature() -> None:
    assert not signing.verify(SECRET, "1000", None, BODY, 1000)
    assert not signing.verify(SECRET, "1000", signing.signature(SECRET, 1000, BODY)[3:],
                              BODY, 1000)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 1.0, 60.0) for n in range(0, 9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(10_000, 0.5, 600.0) == 600.0  # weeks of failures: no overflow


def test_only_2xx_counts_as_delivered() -> None:
    assert [delivered(s) for s in (199, 200, 204, 299, 300, 410, 500)] == [
        False, True, True, True, False, False, False]


@pytest.mark.parametrize("url", [
    "https://gateway.example.cn/hooks/volunteer",
    "http://114.114.114.114:8080/in",
    "https://[2400:3200::1]/hook?community=xinghua",
])
def test_urls_accepted(url: str) -> None:
    assert url_problem(url, ANY_HOST) is None


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.251", "255.255.255.255", "192.0.2.7", "::1", "::", "fe80::1",
    "fc00::5", "ff02::1", "2001:db8::1", "::ffff:10.0.0.1", "2002:a00:1::1",
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, carrying 10.0.0.1
])
def test_internal_addresses_are_reached_only_when_listed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert internal(ip)
    host = f"[{address}]" if ip.version == 6 else address
    assert url_problem(f"http://{host}:8080/in", ANY_HOST) is not None
    assert unreachable([address], ANY_HOST) is not None
    # Its own address or a network holding it opens the way; a name never does.
    listed = Allowlist.parse(f"{address}, gateway.example.cn")
    assert listed.reaches(ip) and unreachable([address], listed) is None
    assert url_problem(f"http://{host}:8080/in", listed) is None
    assert not Allowlist.parse("gateway.example.cn").reaches(ip)


def test_what_a_name_resolves_to_is_checked_address_by_address() -> None:
    assert unreachable(["114.114.114.114", "2400:3200::1"], ANY_HOST) is None
    assert not internal(ipaddress.ip_address("114.114.114.114"))
    mixed = unreachable(["114.114.114.114", "10.1.2.3"], ANY_HOST)
    assert mixed is not None and "10.1.2.3" in mixed
    intranet = Allowlist.parse("sms.example.cn, 10.1.0.0/16")
    assert unreachable(["10.1.2.3"], intranet) is None
    assert unreachable(["10.2.0.1"], intranet) is not None
    # An IPv4 network does not hold the IPv6 address carrying one of its addresses.
    assert unreachable(["::ffff:10.1.2.3"], intranet) is not None
    assert unreachable([], ANY_HOST) is not None and unreachable(["x"], ANY_HOST) is not None


@pytest.mark.parametrize("url", [
    "ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "gopher://x.cn/",
    "https://", "http:///path-without-host", "https://user:pw@example.com/",
    "https://example.com/#frag", "https://example.com:0/", "https://example.com:99999/",
    "https://exa mple.com/", "https://例子.cn/hook", "http://a/",
    "https://example.com/" + "x" * 2000,
])
def test_urls_refused(url: str) -> None:
    assert url_problem(url, ANY_HOST) is not None


def test_the_allowlist_names_hosts_their_subdomains_and_networks() -> None:
    allowed = Allowlist.parse("gateway.example.cn, 10.1.0.0/16, 192.0.2.7")
    assert allowed.allows("gateway.example.cn") and allowed.allows("GATEWAY.example.cn.")
    assert allowed.allows("sms.gateway.example.cn")
    assert allowed.allows("10.1.200.3") and allowed.allows("192.0.2.7")
    assert not allowed.allows("evil-gateway.example.cn")
    assert not allowed.allows("127.0.0.1") and not allowed.allows("169.254.169.254")
    assert url_problem("http://127.0.0.1:8000/api", allowed) is not None
    assert url_problem("http://10.1.3.4:8000/api", allowed) is None
    assert url_problem("https://gateway.example.cn/in", allowed) is None
    assert Allowlist.parse("").open and Allowlist.parse(" , ").open


def test_an_event_concerns_the_units_it_names_its_activity_and_member() -> None:
    unit, parent, activity, member = (uuid.uuid4() for _ in range(4))
    found = concerns({"unit_id": str(unit), "parent_id": str(parent),
                      "activity_id": str(activity), "member_id": str(member),
                      "name": "不是单位"})
    assert set(found.units) == {unit, parent}
    assert found.activity_id == activity and found.member_id == member
    assert concerns({"unit_id": "not-a-uuid", "parent_id": None}).units == ()


def test_ids_are_stable_and_distinct_per_tenant_and_position() -> None:
    assert event_id("t1", 5) == event_id("t1", 5)
    assert len({event_id("t1", 5), event_id("t2", 5), event_id("t1", 6),
                reminder_event_id("t1", "activity_upcoming:x")}) == 4


def test_event_types_hold_the_ledgers_and_the_reminders() -> None:
    assert "CheckedIn" in EVENT_TYPES and set(REMINDER_TYPES) <= set(EVENT_TYPES)
    assert unknown_types(["CheckedIn", "reminder.activity_upcoming", "Nope"]) == ["Nope"]
