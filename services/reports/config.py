"""Reports settings, read once from the environment."""

from __future__ import annotations

import os

import msgspec

from contract.postgres import require_database_url
from contract.serving import worker_count
from reports.domain.webhooks import ANY_HOST, Allowlist

# The database role every connection of the reports service (server and commands) runs as:
# owner of the read-model schemas, no privilege on the ledger's tables, which it reads
# through the ledger's published functions only (revision r0008, docs/SECURITY.md).
DATABASE_ROLE = "reports_writer"
# The role of a connection to the ledger's database when it is not the reports' own
# (`feed_database_url`): EXECUTE on the ledger's published functions and nothing else.
FEED_ROLE = "reports_reader"


class RemoteFeed(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger's HTTP API, for a ledger in another database: its feed, and also the
    verification of callers' tokens and the names reports show, so that reports need
    nothing of the ledger's database. The feed is per tenant and its token a tenant's
    (a tenant-wide read token), so one reports deployment reads one tenant this way."""

    url: str
    tenant_id: str
    token: str
    # How long an idle runner's long poll waits (the ledger allows up to 30 s): a new event
    # arrives within milliseconds of its commit either way; the poll is renewed this often.
    wait: float = 20.0


class Webhooks(msgspec.Struct, frozen=True, kw_only=True):
    """The webhook dispatcher's pacing (seconds): between passes when nothing is due, the
    first retry's delay and the cap of its doubling, an attempt's timeout; and how many
    days the delivery log keeps an attempt (0: for ever)."""

    poll_interval: float = 1.0
    backoff_base: float = 1.0
    backoff_cap: float = 600.0
    timeout: float = 10.0
    log_days: int = 90

    def __post_init__(self) -> None:
        # The attempt waits in an open transaction (service/webhooks.py), which the
        # server ends after idle_in_transaction_session_timeout (15 s).
        if not 0 < self.timeout < 15:
            raise ValueError("WEBHOOK_TIMEOUT must be between 0 and 15 seconds")
        if not 0 < self.backoff_base <= self.backoff_cap:
            raise ValueError("WEBHOOK_BACKOFF_BASE must be positive, at most WEBHOOK_BACKOFF_CAP")
        if not 0 <= self.log_days <= 36_500:
            raise ValueError("WEBHOOK_LOG_DAYS must be 0 (keep for ever) to 36500")

    @classmethod
    def from_env(cls) -> Webhooks:
        return cls(poll_interval=float(os.environ.get("WEBHOOK_POLL_INTERVAL", "1")),
                   backoff_base=float(os.environ.get("WEBHOOK_BACKOFF_BASE", "1")),
                   backoff_cap=float(os.environ.get("WEBHOOK_BACKOFF_CAP", "600")),
                   timeout=float(os.environ.get("WEBHOOK_TIMEOUT", "10")),
                   log_days=int(os.environ.get("WEBHOOK_LOG_DAYS", "90")))


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8001
    # Run the projection runner inside the server (the usual set-up; tests may turn it off).
    run_projector: bool = True
    # Seconds between polls when no NOTIFY arrives.
    poll_interval: float = 0.5
    # Longest a request may wait for its `wait_for` position (seconds).
    max_wait: float = 5.0
    # None: read the feed, tokens and names through the ledger's functions in `database_url`
    # (co-located).
    remote_feed: RemoteFeed | None = None
    # Where else to call those functions (FEED_DATABASE_URL): the ledger's database, or a
    # hot standby of it, while the read models stay in `database_url` (docs/SCALING.md).
    feed_database_url: str | None = None
    # Run the webhook dispatcher inside the server (or run `reports webhooks` instead).
    run_webhooks: bool = True
    webhooks: Webhooks = Webhooks()
    # Where subscriptions may point (WEBHOOK_ALLOWED_HOSTS); empty: anywhere.
    webhook_allowlist: Allowlist = ANY_HOST
    # Server processes (`reports serve`); one of them runs the projections (the others
    # stand by: reports.service.runner).
    workers: int = 1
    # Who may read /metrics: a bearer of this token; None: loopback callers only.
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        if self.remote_feed is not None and self.feed_database_url is not None:
            raise ValueError("set LEDGER_FEED_URL or FEED_DATABASE_URL, not both")

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url or require_database_url("reports"),
            host=os.environ.get("REPORTS_HOST", "127.0.0.1"),
            port=int(os.environ.get("REPORTS_PORT", "8001")),
            poll_interval=float(os.environ.get("REPORTS_POLL_INTERVAL", "0.5")),
            remote_feed=_remote_feed(),
            feed_database_url=os.environ.get("FEED_DATABASE_URL") or None,
            run_webhooks=os.environ.get("REPORTS_WEBHOOKS", "1") != "0",
            webhooks=Webhooks.from_env(),
            webhook_allowlist=Allowlist.parse(os.environ.get("WEBHOOK_ALLOWED_HOSTS", "")),
            workers=worker_count(),
            metrics_token=os.environ.get("METRICS_TOKEN") or None,
        )


def _remote_feed() -> RemoteFeed | None:
    url = os.environ.get("LEDGER_FEED_URL")
    if not url:
        return None
    tenant_id, token = os.environ.get("LEDGER_FEED_TENANT"), os.environ.get("LEDGER_FEED_TOKEN")
    if not tenant_id or not token:
        raise ValueError("LEDGER_FEED_URL needs LEDGER_FEED_TENANT and LEDGER_FEED_TOKEN")
    return RemoteFeed(url=url, tenant_id=tenant_id, token=token)
