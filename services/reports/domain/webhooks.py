"""What a webhook subscription may ask for and how its deliveries are paced: the event
types (the ledger's, and the synthetic reminders), the units an event concerns, the
payload, the retry backoff, and which URLs are accepted. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec

from contract.events import BY_NAME

ACTIVITY_UPCOMING = "reminder.activity_upcoming"
CONFIRMATION_PENDING = "reminder.confirmation_pending"
PUBLICITY_ENDING = "reminder.publicity_ending"
REMINDER_TYPES = (ACTIVITY_UPCOMING, CONFIRMATION_PENDING, PUBLICITY_ENDING)
EVENT_TYPES = tuple(sorted(BY_NAME)) + REMINDER_TYPES

MIN_URL_LENGTH = 10
MAX_URL_LENGTH = 2000
# Event ids are derived, not stored: the feed hands out positions, never the ledger's own
# event ids; a position is the event's identity for ever, so the id is stable across
# attempts, replays and restarts.
_IDS = uuid.UUID("6f1d0c2e-3a57-4c1b-9f0e-5d2b8a7c4e11")

# Keys of event data that name a unit directly; an activity's events concern its host
# unit, a member's the units they reported to.
_UNIT_KEYS = ("unit_id", "parent_id", "into_unit_id", "host_unit_id", "to_unit_id")


def event_id(tenant_id: str, position: int) -> str:
    return str(uuid.uuid5(_IDS, f"{tenant_id}:event:{position}"))


def reminder_event_id(tenant_id: str, reminder_id: str) -> str:
    return str(uuid.uuid5(_IDS, f"{tenant_id}:reminder:{reminder_id}"))


class Concerns(msgspec.Struct, frozen=True, kw_only=True):
    """What in the tree an event is about."""

    units: tuple[uuid.UUID, ...] = ()
    activity_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None


def _uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def concerns(data: dict[str, Any]) -> Concerns:
    units = tuple(u for key in _UNIT_KEYS if (u := _uuid(data.get(key))) is not None)
    return Concerns(units=units, activity_id=_uuid(data.get("activity_id")),
                    member_id=_uuid(data.get("member_id")))


class Payload(msgspec.Struct, frozen=True, kw_only=True):
    """The body of every delivery. `cursor`: the event's feed cursor (None for a reminder);
    `data`: the event's data in its current schema version, or the reminder's."""

    id: str
    type: str
    tenant_id: str
    subscription_id: uuid.UUID
    cursor: str | None
    occurred_at: datetime
    data: dict[str, Any]


_ENCODER = msgspec.json.Encoder(order="sorted")


def body(payload: Payload) -> bytes:
    return _ENCODER.encode(payload)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling from `base`,
    at most `cap`."""
    if attempts < 1:
        return 0.0
    # Bounded exponent: 2**attempts of a subscription failing for weeks would overflow.
    return min(cap, base * 2 ** min(attempts - 1, 62))


def delivered(status: int) -> bool:
    return 200 <= status < 300


def internal(address: ipaddress._BaseAddress) -> bool:
    """An address inside some network rather than on the internet: loopback, private
    (RFC 1918, fc00::/7), link-local (169.254.0.0/16, where clouds answer metadata, and
    fe80::/10), shared (100.64.0.0/10), unspecified, reserved, documentation, multicast;
    an IPv6 address carrying an IPv4 one (mapped, 6to4, Teredo) is judged by that one."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour or (
            address.teredo[1] if address.teredo else None)
        if carried is not None:
            address = carried
    return not address.is_global or address.is_multicast


class Allowlist(msgspec.Struct, frozen=True, kw_only=True):
    """Hosts and networks a subscription's URL may point at (WEBHOOK_ALLOWED_HOSTS). Empty:
    any host (see docs/SECURITY.md, "Webhooks"). Whatever a host is, the addresses a
    delivery connects to must not be internal unless a network of the list holds them
    (`reaches`): a name, even a listed one, never opens the way to an internal address."""

    hosts: frozenset[str] = frozenset()
    # One class, not the union of the v4 and v6 ones: msgspec (hence Litestar, which checks
    # the settings a handler gets) takes unions of one custom type only.
    networks: tuple[ipaddress._BaseNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        hosts, networks = set(), []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    @property
    def open(self) -> bool:
        return not self.hosts and not self.networks

    def allows(self, host: str) -> bool:
        if self.open:
            return True
        host = host.lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.hosts or any(host.endswith("." + h) for h in self.hosts)
        return any(address in network for network in self.networks)

    def reaches(self, address: ipaddress._BaseAddress) -> bool:
        """May a delivery connect to `address`? Any public one (the host was checked as
        written); an internal one only when a listed network or address holds it."""
        return not internal(address) or any(
            address.version == network.version and address in network
            for network in self.networks)


ANY_HOST = Allowlist()


def unreachable(addresses: Sequence[str], allowlist: Allowlist) -> str | None:
    """Why a delivery may not go to what its host resolved to; None when every address
    may be reached (all of them: a name answering one public and one internal address
    could otherwise be turned inwards by the order of its answers)."""
    if not addresses:
        return "the host resolved to no address"
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return f"the host resolved to {text!r}, not an address"
        if not allowlist.reaches(address):
            return (f"the host resolved to the internal address {text}, which "
                    "WEBHOOK_ALLOWED_HOSTS does not name")
    return None


def url_problem(url: str, allowlist: Allowlist) -> tuple[str, str] | None:
    """Why a subscription URL is refused, in Chinese and English; None if it is accepted."""
    if not MIN_URL_LENGTH <= len(url) <= MAX_URL_LENGTH:
        return (f"地址长度须为{MIN_URL_LENGTH}至{MAX_URL_LENGTH}个字符",
                f"the URL must be {MIN_URL_LENGTH}–{MAX_URL_LENGTH} characters")
    if not url.isascii() or any(c.isspace() for c in url):
        return "地址须为不含空白的ASCII字符", "the URL must be ASCII without blanks"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "地址格式不正确", "not a URL"
    if parts.scheme not in ("http", "https"):
        return "地址须以 http:// 或 https:// 开头", "only http and https URLs"
    if not parts.hostname:
        return "地址须含主机名", "the URL needs a host"
    if parts.username is not None or parts.password is not None:
        return "地址不能含用户名或密码", "no user or password in the URL"
    if parts.fragment:
        return "地址不能含 # 片段", "no fragment in the URL"
    if port == 0:
        return "端口不正确", "invalid port"
    if not allowlist.allows(parts.hostname):
        return "该主机不在允许的列表中", "this host is not allowed (WEBHOOK_ALLOWED_HOSTS)"
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None  # a name: what it resolves to is checked at every attempt
    if literal is not None and not allowlist.reaches(literal):
        return ("内部网络地址须在 WEBHOOK_ALLOWED_HOSTS 中列出",
                "an internal address must be listed in WEBHOOK_ALLOWED_HOSTS")
    return None


def unknown_types(types: Iterable[str]) -> list[str]:
    known = set(EVENT_TYPES)
    return [t for t in types if t not in known]
