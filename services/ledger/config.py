"""Ledger settings, read once from the environment."""

from __future__ import annotations

import os

import msgspec

from contract.postgres import require_database_url

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

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url or require_database_url("ledger"),
            host=os.environ.get("LEDGER_HOST", "127.0.0.1"),
            port=int(os.environ.get("LEDGER_PORT", "8000")),
            checkin_grace_minutes=int(os.environ.get("CHECKIN_GRACE_MINUTES", "30")),
        )
