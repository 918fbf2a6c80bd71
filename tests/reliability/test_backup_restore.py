"""The backup drill (`make backup-test`): the demo loaded and projected, dumped, restored
into a fresh embedded server on a free port, verified, rebuilt to the same checksums, and the
feed continued from a cursor taken before the backup (docs/RELIABILITY.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from infra import backup, postgres

pytestmark = pytest.mark.reliability


def test_a_restored_ledger_verifies_rebuilds_the_same_and_continues_the_feed() -> None:
    lines: list[str] = []
    # Under the checkout, not pytest's root-private tmp_path: the restored server runs as
    # the unprivileged embedded_postgres user. The drill asserts each step itself.
    with tempfile.TemporaryDirectory(prefix="backup-drill-", dir=postgres.PROJECT_ROOT) as work:
        result = backup.drill(Path(work), say=lines.append)
    assert result["new_txid"] > result["newest_txid"] and result["tables"] >= 10
    assert any("all chains intact" in line for line in lines)
