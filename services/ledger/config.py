"""Ledger settings, read once from the environment."""

from __future__ import annotations

import ipaddress
import os

import msgspec

from contract.postgres import require_database_url
from contract.serving import worker_count

# The database role every connection of the ledger (service and commands) runs as: SELECT
# and INSERT only on ledger.events (revision 0007, docs/SECURITY.md).
DATABASE_ROLE = "ledger_writer"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    # How early before its scheduled start an activity accepts check-ins.
    checkin_grace_minutes: int = 30
    # Largest request body accepted (bytes); the bulk import has its own, larger limit.
    max_body_bytes: int = 64 * 1024
    max_import_bytes: int = 50 * 1024 * 1024
    # The pages' cookies carry `Secure` (only sent over https): set behind TLS.
    cookie_secure: bool = False
    # Addresses or networks of the reverse proxies whose X-Forwarded-For is believed; none
    # by default, so a client's own header never chooses the address its limits count.
    trusted_proxies: tuple[str, ...] = ()
    # Server processes (`ledger serve`); contract.serving.
    workers: int = 1
    # Who may read /metrics: a bearer of this token; None: loopback callers only.
    metrics_token: str | None = None
    # Concurrent check-ins share statements and commits (ledger.adapters.group_commit);
    # off, every append and read is its own round trip (the benchmark's comparison).
    group_commit: bool = True

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url or require_database_url("ledger"),
            host=os.environ.get("LEDGER_HOST", "127.0.0.1"),
            port=int(os.environ.get("LEDGER_PORT", "8000")),
            checkin_grace_minutes=int(os.environ.get("CHECKIN_GRACE_MINUTES", "30")),
            cookie_secure=flag("COOKIE_SECURE"),
            trusted_proxies=proxies(os.environ.get("TRUSTED_PROXIES", "")),
            workers=worker_count(),
            metrics_token=os.environ.get("METRICS_TOKEN") or None,
            group_commit=flag("GROUP_COMMIT", default=True),
        )


def flag(name: str, *, default: bool = False) -> bool:
    value = os.environ.get(name, "1" if default else "0").strip().lower()
    if value not in ("0", "1", "true", "false", ""):
        raise ValueError(f"{name} must be 1 or 0, not {value!r}")
    return value in ("1", "true") or (value == "" and default)


def proxies(text: str) -> tuple[str, ...]:
    """`TRUSTED_PROXIES`: addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `::1`),
    separated by commas or spaces. Refused at start when one is not an address."""
    entries = tuple(part for part in text.replace(",", " ").split() if part)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an address or network"
                             ) from None
    return entries
