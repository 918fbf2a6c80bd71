"""Production configuration: the services need DATABASE_URL and never reach for the
development tools (the embedded server, the demo generator) under infra/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import postgres
from ledger.config import Settings as LedgerSettings
from reports.config import Settings as ReportsSettings


@pytest.mark.parametrize("settings", [LedgerSettings, ReportsSettings])
def test_a_service_without_database_url_says_so(settings: type, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="DATABASE_URL is not set"):
        settings.from_env()
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/ledger")
    assert settings.from_env().database_url == "postgresql://db.internal/ledger"


def test_the_shipped_packages_import_nothing_from_infra() -> None:
    script = (
        "import sys\n"
        "import ledger.entrypoints.app, ledger.entrypoints.cli, ledger.imports.run\n"
        "import reports.entrypoints.app, reports.entrypoints.cli\n"
        "ledger.entrypoints.cli.build_parser()  # imports every sub-command\n"
        "print(sorted(m for m in sys.modules if m == 'infra' or m.startswith('infra.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "[]"


def test_each_checkout_has_its_own_stable_port() -> None:
    here = postgres.checkout_port()
    assert here == postgres.checkout_port(postgres.PROJECT_ROOT)
    assert 54329 <= here < 54829
    ports = {postgres.checkout_port(Path(f"/work/wt{i}")) for i in range(1, 9)}
    assert len(ports) > 1
    assert all(54329 <= port < 54829 for port in ports)


def test_the_webhook_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/ledger")
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "sms.example.cn, 10.20.0.0/16")
    monkeypatch.setenv("WEBHOOK_BACKOFF_BASE", "2")
    monkeypatch.setenv("WEBHOOK_BACKOFF_CAP", "120")
    monkeypatch.setenv("REPORTS_WEBHOOKS", "0")
    settings = ReportsSettings.from_env()
    assert not settings.run_webhooks
    assert (settings.webhooks.backoff_base, settings.webhooks.backoff_cap) == (2, 120)
    assert settings.webhook_allowlist.allows("10.20.3.4")
    assert not settings.webhook_allowlist.allows("127.0.0.1")
    assert settings.webhooks.log_days == 90
    monkeypatch.setenv("WEBHOOK_LOG_DAYS", "0")
    assert ReportsSettings.from_env().webhooks.log_days == 0
    monkeypatch.setenv("WEBHOOK_LOG_DAYS", "-1")
    with pytest.raises(ValueError, match="WEBHOOK_LOG_DAYS"):
        ReportsSettings.from_env()
    monkeypatch.setenv("WEBHOOK_LOG_DAYS", "30")
    # An attempt waits in a transaction the server ends after 15 s idle.
    monkeypatch.setenv("WEBHOOK_TIMEOUT", "30")
    with pytest.raises(ValueError, match="WEBHOOK_TIMEOUT"):
        ReportsSettings.from_env()
    monkeypatch.setenv("WEBHOOK_TIMEOUT", "10")
    monkeypatch.setenv("WEBHOOK_BACKOFF_BASE", "600")
    with pytest.raises(ValueError, match="WEBHOOK_BACKOFF_BASE"):
        ReportsSettings.from_env()


def test_the_feed_database_comes_from_the_environment_and_excludes_the_http_feed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/reports")
    monkeypatch.delenv("LEDGER_FEED_URL", raising=False)
    assert ReportsSettings.from_env().feed_database_url is None
    monkeypatch.setenv("FEED_DATABASE_URL", "postgresql://standby.internal/ledger")
    assert ReportsSettings.from_env().feed_database_url == "postgresql://standby.internal/ledger"
    # Two ways to the ledger at once would leave it open which one the feed takes.
    monkeypatch.setenv("LEDGER_FEED_URL", "http://ledger.internal:8000")
    monkeypatch.setenv("LEDGER_FEED_TENANT", "xinluo")
    monkeypatch.setenv("LEDGER_FEED_TOKEN", "lt_x_y")
    with pytest.raises(ValueError, match="not both"):
        ReportsSettings.from_env()
