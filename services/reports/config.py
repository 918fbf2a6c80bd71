"""Reports settings, read once from the environment."""

from __future__ import annotations

import os

import msgspec


def require_database_url() -> str:
    """DATABASE_URL, which the service needs: it never falls back to a development server."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit(
            "DATABASE_URL is not set: the reports service needs postgresql://… of its database. "
            "In development the make targets and `python -m infra.run` set it to the embedded "
            "server (`make db-start` prints its URL).")
    return url


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8001
    ledger_url: str = "http://127.0.0.1:8000"
    # Run the projection runner inside the server (the usual set-up; tests may turn it off).
    run_projector: bool = True
    # Seconds between polls when no NOTIFY arrives.
    poll_interval: float = 0.5
    # Longest a request may wait for its `wait_for` position (seconds).
    max_wait: float = 5.0

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url or require_database_url(),
            host=os.environ.get("REPORTS_HOST", "127.0.0.1"),
            port=int(os.environ.get("REPORTS_PORT", "8001")),
            ledger_url=os.environ.get("LEDGER_URL", "http://127.0.0.1:8000"),
            poll_interval=float(os.environ.get("REPORTS_POLL_INTERVAL", "0.5")),
        )
