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
