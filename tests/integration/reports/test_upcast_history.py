"""Events stored at an older schema version, exactly as they were written then (raw rows,
the old data shape, their own hash chain), read by today's ledger, `ledger verify` and the
reports projection through the upcasters."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from contract.events import UPCASTERS, ActivityScheduled, canonical_json, decode_data
from ledger.adapters.chain import GENESIS_HASH, LEGACY_CHAIN, chain_hash
from ledger.adapters.event_store import ANY, Metadata, NewEvent, PostgresEventStore
from ledger.adapters.tokens import TokenStore
from ledger.entrypoints.cli import build_parser

from .conftest import ORGANISER, History, shanghai

STARTS, ENDS = shanghai(2025, 3, 8, 14), shanghai(2025, 3, 8, 15, 30)


async def _insert_raw(pool: asyncpg.Pool, tenant: str, stream_id: str,
                      events: list[tuple[str, dict[str, Any]]]) -> tuple[list[uuid.UUID], int]:
    """Rows as the ledger wrote them at schema version 1, before revision 0007 (chain
    version 1, unsealed): (event ids, last position)."""
    previous, ids, position = GENESIS_HASH, [], 0
    for version, (type_name, data) in enumerate(events, start=1):
        event_id, stored = uuid.uuid4(), canonical_json(data)
        previous = chain_hash(previous, event_id, stream_id, version, type_name, 1, stored,
                              chain_version=LEGACY_CHAIN)
        position = await pool.fetchval(
            """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
                   schema_version, data, metadata, hash)
               VALUES ($1, $2, $3, $4, $5, 1, $6::jsonb, '{"actor":"test"}', $7)
               RETURNING position""",
            tenant, event_id, stream_id, version, type_name, stored, previous)
        ids.append(event_id)
    return ids, position


@pytest.fixture
async def old_activity(history: History, pool: asyncpg.Pool) -> dict[str, Any]:
    district = await history.unit("district", None, "测试区委")
    community = await history.unit("community", district, "兴华南里社区")
    member = await history.member(community)
    activity, participation = uuid.uuid4(), uuid.uuid4()
    ids = {"activity_id": str(activity), "member_id": str(member),
           "participation_id": str(participation)}
    # v1 ActivityScheduled: no beneficiary. The other types are still at version 1.
    scheduled = {"activity_id": str(activity), "kind": "meeting", "category": "attendance",
                 "host_unit_id": str(community), "title": "党员座谈会", "place": "活动室",
                 "starts_at": STARTS.isoformat(), "ends_at": ENDS.isoformat(),
                 "capacity": None, "hours_cap_minutes": None,
                 "organiser_ids": [str(ORGANISER)]}
    stream_id = f"activity-{activity}"
    event_ids, position = await _insert_raw(pool, history.tenant_id, stream_id, [
        ("ActivityScheduled", scheduled),
        ("CheckedIn", {**ids, "at": STARTS.isoformat(), "method": "qr", "client_time": None,
                       "device": None, "flags": []}),
        ("CheckedOut", {**ids, "at": ENDS.isoformat(), "method": "qr", "client_time": None,
                        "auto": False, "flags": []}),
        ("AttendanceConfirmed", {**ids, "minutes": 0, "confirmed_by": str(ORGANISER),
                                 "confirmed_at": ENDS.isoformat()}),
    ])
    history.last_position = position
    return {"activity": activity, "member": member, "community": community,
            "stream_id": stream_id, "scheduled": scheduled, "event_ids": event_ids}


async def test_the_ledger_folds_v1_events_and_appends_after_them(
        old_activity: dict[str, Any], ledger_client: httpx.AsyncClient, pool: asyncpg.Pool,
        tenant: str) -> None:
    store = PostgresEventStore(pool)
    stream_id = old_activity["stream_id"]
    assert await store.verify_chain(tenant, stream_id) is None  # the hash covers what is stored
    token = (await TokenStore(pool).mint(tenant, label="org", role="organiser", can_write=True,
                                         organiser_id=ORGANISER)).token
    headers = {"Authorization": f"Bearer {token}"}

    read = (await ledger_client.get(f"/api/v1/activities/{old_activity['activity']}",
                                    headers=headers)).json()

    assert (read["kind"], read["title"], read["beneficiary"]) == ("meeting", "党员座谈会", "")
    assert [(p["member_id"], p["minutes"]) for p in read["participations"]] == [
        (str(old_activity["member"]), 0)]
    closed = await ledger_client.post(f"/api/v1/activities/{old_activity['activity']}/close",
                                      headers=headers, json={})
    assert closed.status_code in (200, 201), closed.text
    stream = await store.read_stream(tenant, stream_id)
    assert [(e.type, e.schema_version) for e in stream][-1] == ("ActivityClosed", 1)
    assert await store.verify_chain(tenant, stream_id) is None  # v1 and newer, one chain
    # Storing the same event again, as a retry after the upgrade would, is a replay: the
    # stored v1 data equal today's event once upcast.
    again = decode_data("ActivityScheduled", 1, stream[0].data)
    assert isinstance(again, ActivityScheduled) and again.beneficiary == ""
    replay = await store.append(tenant, stream_id, ANY, [NewEvent(
        event_id=old_activity["event_ids"][0], event=again, metadata=Metadata(actor="test"))])
    assert replay.replayed
    assert msgspec.json.decode(stream[0].data) == old_activity["scheduled"]  # untouched


async def test_ledger_verify_reads_v1_events(old_activity: dict[str, Any], database_url: str,
                                             tenant: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    args = build_parser().parse_args(["verify", "--tenant", tenant])

    assert await args.run(args) == 0
    assert "all chains intact, every event readable" in capsys.readouterr().out

    # Without its upcaster the v1 event could not be read: verify says where.
    monkeypatch.delitem(UPCASTERS, ("ActivityScheduled", 1))
    assert await args.run(args) == 1
    out = capsys.readouterr().out
    assert f"UNREADABLE {old_activity['stream_id']} at version 1" in out
    assert "BROKEN" not in out


async def test_the_reports_project_v1_events(old_activity: dict[str, Any], history: History,
                                             pool: asyncpg.Pool, tenant: str) -> None:
    await history.project()

    activity = await pool.fetchrow(
        "SELECT kind, category, title FROM reports.activities "
        "WHERE tenant_id = $1 AND activity_id = $2", tenant, old_activity["activity"])
    assert tuple(activity) == ("meeting", "attendance", "党员座谈会")
    participation = await pool.fetchrow(
        "SELECT member_id, minutes FROM reports.participations "
        "WHERE tenant_id = $1 AND activity_id = $2", tenant, old_activity["activity"])
    assert tuple(participation) == (old_activity["member"], 0)
    skipped = await pool.fetchval(
        "SELECT sum(events_skipped) FROM reports.checkpoints WHERE tenant_id = $1", tenant)
    assert skipped == 0
