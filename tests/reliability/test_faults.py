"""The CI versions of `make faults` and of the concurrency truth run (bench/faults.py):
real ledger and reports processes over a PostgreSQL cluster of their own, load with
command ids, and the checks that count what was lost, doubled or projected wrongly."""

from __future__ import annotations

import pytest

from bench import faults

pytestmark = pytest.mark.reliability


def _clean(summary: dict[str, object]) -> None:
    assert summary["lost"] == 0 and summary["doubled"] == 0, summary
    assert summary["refusals"] == 0, summary
    assert summary["read_models_equal_rebuild"], summary["differing_tables"]
    assert summary["participations"] == summary["checkins_stored"] == summary["acknowledged"]
    assert not summary["reports_next_left"]


# The clusters live under the checkout (the default), not pytest's tmp_path: that one is
# private to root, and the server runs as the unprivileged embedded_postgres user.
async def test_every_fault_is_survived_and_nothing_is_lost_or_doubled() -> None:
    lines: list[str] = []
    summary = await faults.run(faults.SHORT, clients=16, rate=100, spacing=1,
                               say=lines.append)
    assert summary["faults_survived"] == summary["faults_injected"] == len(faults.SHORT), lines
    _clean(summary)
    # Both services were restarted by the run, and commands had to be sent again.
    assert summary["ledger_starts"] >= 2 and summary["reports_starts"] >= 3
    assert summary["retries"] > 0


async def test_64_clients_live_projections_equal_a_recomputation() -> None:
    summary = await faults.run([], clients=64, rate=None, appends=5_000,
                               say=lambda _line: None)
    assert summary["acknowledged"] == 5_000
    _clean(summary)
