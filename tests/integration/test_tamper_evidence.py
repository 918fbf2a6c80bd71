"""Tamper evidence against a database insider, through `ledger verify` and `ledger seal`.

The insider is the table's owner (the test session's superuser) with the append-only
trigger disabled: they can change, delete and insert rows and recompute the hash chain
(the code is no secret), but they do not hold the seal key. Every case must make
`ledger verify` exit non-zero naming the first broken event: tenant, stream, version,
event id and why.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec
import pytest

from contract.events import canonical_json, encode_data
from ledger.adapters.chain import (
    CHAIN_VERSION,
    GENESIS_HASH,
    LEGACY_CHAIN,
    Sealer,
    TenantHeads,
    chain_hash,
    encode_checkpoint,
    sign_checkpoint,
)
from ledger.adapters.event_store import NO_STREAM, PostgresEventStore
from ledger.entrypoints.cli import build_parser
from tests.new_events import renamed

# ledger verify's exit status when something is broken, and when a checkpoint is refused.
BROKEN, REFUSED = 1, 2
OLD_KEY = "the-retired-seal-key-0123456789abcdef"

Cli = Callable[..., Awaitable[tuple[int, str, str]]]



@pytest.fixture
def ledger(capsys: pytest.CaptureFixture[str], database_url: str) -> Cli:
    """Runs a `ledger` command line: (exit status, stdout, stderr)."""

    async def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        args = build_parser().parse_args(list(argv))
        status = await args.run(args)
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
async def stream(pool: asyncpg.Pool, tenant: str) -> list[uuid.UUID]:
    """Stream "s" of five sealed events, and one other stream; the event ids of "s"."""
    store = PostgresEventStore(pool)
    events = [renamed(f"n{i}") for i in range(1, 6)]
    await store.append(tenant, "s", NO_STREAM, events)
    await store.append(tenant, "other", NO_STREAM, [renamed("x")])
    return [e.event_id for e in events]


@asynccontextmanager
async def insider(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """The table's owner, with the append-only trigger off while they work."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE ledger.events DISABLE TRIGGER events_append_only")
        yield connection
        await connection.execute("ALTER TABLE ledger.events ENABLE TRIGGER events_append_only")


async def recompute_chain(connection: asyncpg.Connection, tenant: str, stream_id: str) -> None:
    """What an insider who read this code does after a change: every hash made right
    again (the seals they cannot make)."""
    previous = GENESIS_HASH
    for row in await connection.fetch(
            """SELECT event_id, version, type, schema_version, data, metadata, recorded_at,
                      chain_version FROM ledger.events
               WHERE tenant_id = $1 AND stream_id = $2 ORDER BY version""", tenant, stream_id):
        previous = chain_hash(
            previous, row["event_id"], stream_id, row["version"], row["type"],
            row["schema_version"], canonical_json(msgspec.json.decode(row["data"])),
            chain_version=row["chain_version"],
            metadata=canonical_json(msgspec.json.decode(row["metadata"])),
            recorded_at=row["recorded_at"])
        await connection.execute(
            "UPDATE ledger.events SET hash = $3 WHERE tenant_id = $1 AND event_id = $2",
            tenant, row["event_id"], previous)


def broken_line(out: str, tenant: str, stream_id: str, version: int,
                event_id: uuid.UUID | None, reason: str) -> None:
    event = event_id or "missing"
    expected = (f"BROKEN {stream_id} at version {version} (tenant {tenant}, event {event}): "
                f"{reason}")
    assert expected in out, out
    assert out.count("BROKEN") == 1, out


async def test_an_intact_tenant_verifies(ledger: Cli, tenant: str,
                                         stream: list[uuid.UUID]) -> None:
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == 0 and "all chains intact, every event readable" in out


@pytest.mark.parametrize("change", [
    "data = jsonb_set(data, '{name}', '\"forged\"')",
    "metadata = jsonb_set(metadata, '{actor}', '\"mallory\"')",
    "recorded_at = recorded_at - interval '1 day'",
])
async def test_an_edited_row_is_named(ledger: Cli, pool: asyncpg.Pool, tenant: str,
                                      stream: list[uuid.UUID], change: str) -> None:
    async with insider(pool) as connection:
        await connection.execute(
            f"UPDATE ledger.events SET {change} WHERE tenant_id = $1 AND event_id = $2",
            tenant, stream[2])
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == BROKEN
    broken_line(out, tenant, "s", 3, stream[2], "hash mismatch")


@pytest.mark.parametrize("seals", ["kept", "forged with another key",
                                   "forged under our key id"])
async def test_a_recomputed_chain_fails_the_seals(ledger: Cli, pool: asyncpg.Pool, tenant: str,
                                                  stream: list[uuid.UUID], seals: str) -> None:
    async with insider(pool) as connection:
        await connection.execute(
            """UPDATE ledger.events SET data = jsonb_set(data, '{name}', '"forged"')
               WHERE tenant_id = $1 AND event_id = $2""", tenant, stream[1])
        await recompute_chain(connection, tenant, "s")
        if seals != "kept":
            theirs = Sealer(b"the-insiders-own-key-0123456789abcdef")
            # The events whose hash changed get a seal of the insider's making.
            rows = await connection.fetch(
                "SELECT event_id, hash, seal FROM ledger.events WHERE tenant_id = $1 "
                "AND stream_id = 's' AND version >= 2", tenant)
            for row in rows:
                seal = theirs.seal(tenant, bytes(row["hash"]))
                if seals == "forged under our key id":
                    seal = bytes(row["seal"])[:8] + seal[8:]
                await connection.execute(
                    "UPDATE ledger.events SET seal = $3 WHERE tenant_id = $1 AND event_id = $2",
                    tenant, row["event_id"], seal)
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == BROKEN
    reason = "unknown seal key" if seals == "forged with another key" else "seal mismatch"
    broken_line(out, tenant, "s", 2, stream[1], reason)


async def test_a_deleted_middle_event_is_named_where_it_was(
        ledger: Cli, pool: asyncpg.Pool, tenant: str, stream: list[uuid.UUID]) -> None:
    async with insider(pool) as connection:
        await connection.execute(
            "DELETE FROM ledger.events WHERE tenant_id = $1 AND event_id = $2", tenant, stream[2])
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == BROKEN
    broken_line(out, tenant, "s", 3, None, "version gap")
    assert f"the next stored is version 4 (event {stream[3]})" in out


async def test_dropped_events_and_streams_are_found_against_a_checkpoint(
        ledger: Cli, pool: asyncpg.Pool, tenant: str, stream: list[uuid.UUID],
        tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    status, _, err = await ledger("seal", "--out", str(checkpoint), "--tenant", tenant)
    assert status == 0 and "2 streams, 6 events" in err
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == 0 and "nothing dropped since the checkpoint" in out
    # Appending after the checkpoint is what a ledger does: still intact.
    await PostgresEventStore(pool).append(tenant, "s", 5, [renamed("n6")])
    status, _, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == 0

    async with insider(pool) as connection:
        await connection.execute("DELETE FROM ledger.events WHERE tenant_id = $1 "
                                 "AND stream_id = 's' AND version >= 4", tenant)
        await connection.execute("DELETE FROM ledger.events WHERE tenant_id = $1 "
                                 "AND stream_id = 'other'", tenant)
    # What is left of each stream is sealed: without the checkpoint nothing shows.
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == 0, out
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == BROKEN
    assert (f"BROKEN s at version 4 (tenant {tenant}, event missing): missing since "
            f"checkpoint: versions 4–5 were in the checkpoint (its head event {stream[4]})"
            in out), out
    assert (f"BROKEN other at version 1 (tenant {tenant}, event missing): missing since "
            "checkpoint" in out), out
    assert "2 broken stream(s)" in out


async def test_a_forged_checkpoint_is_refused(ledger: Cli, pool: asyncpg.Pool, tenant: str,
                                              stream: list[uuid.UUID], tmp_path: Path
                                              ) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    assert (await ledger("seal", "--out", str(checkpoint), "--tenant", tenant))[0] == 0
    # The insider drops the last events and edits the checkpoint to match.
    async with insider(pool) as connection:
        await connection.execute("DELETE FROM ledger.events WHERE tenant_id = $1 "
                                 "AND stream_id = 's' AND version = 5", tenant)
    body = json.loads(checkpoint.read_text())
    tenant_part = body["tenants"][tenant]
    tenant_part["streams"]["s"] = {"version": 4, "event_id": str(stream[3]), "hash": (
        await pool.fetchval("SELECT encode(hash, 'hex') FROM ledger.events WHERE tenant_id = $1"
                            " AND event_id = $2", tenant, stream[3]))}
    tenant_part["event_count"] -= 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(body))
    status, out, err = await ledger("verify", "--tenant", tenant, "--checkpoint", str(forged))
    assert status == REFUSED and "signature does not match" in err and "intact" not in out
    # Re-signed with a key of their own: refused too.
    theirs = Sealer(b"the-insiders-own-key-0123456789abcdef")
    tenants = msgspec.convert(body["tenants"], dict[str, TenantHeads])
    forged.write_bytes(encode_checkpoint(sign_checkpoint(theirs, tenants, datetime.now(UTC))))
    status, _, err = await ledger("verify", "--tenant", tenant, "--checkpoint", str(forged))
    assert status == REFUSED and "neither LEDGER_SEAL_KEY nor a retired key" in err
    status, _, err = await ledger("verify", "--tenant", "elsewhere", "--checkpoint",
                                  str(checkpoint))
    assert status == REFUSED and "holds no tenant 'elsewhere'" in err
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == BROKEN
    broken_line(out, tenant, "s", 5, None, "missing since checkpoint")


async def _insert_legacy(connection: asyncpg.Connection, tenant: str, stream_id: str,
                         names: list[str], version: int = 0,
                         previous: bytes = GENESIS_HASH) -> list[uuid.UUID]:
    """Rows as the ledger wrote them before revision 0007: chain version 1 (the column's
    default), no seal, recorded_at the column's default."""
    ids = []
    for name in names:
        version += 1
        new = renamed(name)
        data = encode_data(new.event)
        previous = chain_hash(previous, new.event_id, stream_id, version, "UnitRenamed", 1,
                              data, chain_version=LEGACY_CHAIN)
        await connection.execute(
            """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
                   schema_version, data, metadata, hash)
               VALUES ($1, $2, $3, $4, 'UnitRenamed', 1, $5, '{"actor":"old"}', $6)""",
            tenant, new.event_id, stream_id, version, data, previous)
        ids.append(new.event_id)
    return ids


async def test_events_stored_before_the_seals_still_verify(
        ledger: Cli, pool: asyncpg.Pool, tenant: str, tmp_path: Path) -> None:
    async with pool.acquire() as connection:
        await _insert_legacy(connection, tenant, "old-then-new", ["a", "b"])
        await _insert_legacy(connection, tenant, "old-only", ["c", "d"])
    store = PostgresEventStore(pool)
    await store.append(tenant, "old-then-new", 2, [renamed("sealed")])
    stored = await store.read_stream(tenant, "old-then-new")
    assert [e.chain_version for e in stored] == [LEGACY_CHAIN, LEGACY_CHAIN, CHAIN_VERSION]
    assert [e.seal is None for e in stored] == [True, True, False]
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == 0, out
    checkpoint = tmp_path / "checkpoint.json"
    assert (await ledger("seal", "--out", str(checkpoint), "--tenant", tenant))[0] == 0
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == 0, out

    # The seal of a later event covers the unsealed ones before it.
    async with insider(pool) as connection:
        await connection.execute(
            """UPDATE ledger.events SET data = jsonb_set(data, '{name}', '"forged"')
               WHERE tenant_id = $1 AND stream_id = 'old-then-new' AND version = 1""", tenant)
        await recompute_chain(connection, tenant, "old-then-new")
    status, out, _ = await ledger("verify", "--tenant", tenant, "--stream", "old-then-new")
    assert status == BROKEN
    broken_line(out, tenant, "old-then-new", 3, stored[2].event_id, "seal mismatch")


async def test_unsealed_events_cannot_be_slipped_in(ledger: Cli, pool: asyncpg.Pool,
                                                    tenant: str, tmp_path: Path) -> None:
    async with pool.acquire() as connection:
        await _insert_legacy(connection, tenant, "old-only", ["a", "b"])
        legacy = await _insert_legacy(connection, tenant, "legacy", ["c"])
    store = PostgresEventStore(pool)
    await store.append(tenant, "sealed", NO_STREAM, [renamed("x")])
    checkpoint = tmp_path / "checkpoint.json"
    assert (await ledger("seal", "--out", str(checkpoint), "--tenant", tenant))[0] == 0

    async with insider(pool) as connection:
        # After a sealed event, in a stream of old events, as a new stream; and an old
        # stream changed with its chain recomputed.
        head = bytes.fromhex((await store.read_stream(tenant, "sealed"))[-1].hash)
        after_sealed = await _insert_legacy(connection, tenant, "sealed", ["y"], 1, head)
        head = bytes.fromhex((await store.read_stream(tenant, "old-only"))[-1].hash)
        after_old = await _insert_legacy(connection, tenant, "old-only", ["e"], 2, head)
        new_stream = await _insert_legacy(connection, tenant, "new-stream", ["f"])
        await connection.execute(
            """UPDATE ledger.events SET data = jsonb_set(data, '{name}', '"forged"')
               WHERE tenant_id = $1 AND stream_id = 'legacy'""", tenant)
        await recompute_chain(connection, tenant, "legacy")
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == BROKEN
    assert (f"BROKEN sealed at version 2 (tenant {tenant}, event {after_sealed[0]}): "
            "unsealed after sealed" in out), out
    assert out.count("BROKEN") == 1, out  # unsealed events alone verify as before 0007
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == BROKEN
    for stream_id, version, event_id, reason in (
            ("old-only", 3, after_old[0], "unsealed since checkpoint"),
            ("new-stream", 1, new_stream[0], "unsealed since checkpoint"),
            ("legacy", 1, legacy[0], "differs from checkpoint")):
        assert (f"BROKEN {stream_id} at version {version} (tenant {tenant}, event {event_id}): "
                f"{reason}" in out), out
    assert "4 broken stream(s)" in out


async def test_keys_rotate(ledger: Cli, pool: asyncpg.Pool, tenant: str, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Events sealed with a retired key verify while that key is listed as retired, and
    through a checkpoint signed with the new key once it is dropped altogether."""
    old = PostgresEventStore(pool, sealer=Sealer(OLD_KEY.encode()))
    await old.append(tenant, "s", NO_STREAM, [renamed("a"), renamed("b")])
    monkeypatch.setenv("LEDGER_SEAL_RETIRED_KEYS", OLD_KEY)
    await PostgresEventStore(pool).append(tenant, "s", 2, [renamed("c")])
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == 0, out
    checkpoint = tmp_path / "checkpoint.json"
    assert (await ledger("seal", "--out", str(checkpoint), "--tenant", tenant))[0] == 0

    monkeypatch.delenv("LEDGER_SEAL_RETIRED_KEYS")
    status, out, _ = await ledger("verify", "--tenant", tenant)
    assert status == BROKEN and "at version 1" in out and "unknown seal key" in out
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == 0, out
    # Whoever still has the dropped key cannot add to what the checkpoint vouches for.
    await old.append(tenant, "s", 3, [renamed("d")])
    status, out, _ = await ledger("verify", "--tenant", tenant, "--checkpoint", str(checkpoint))
    assert status == BROKEN and "at version 4" in out and "unknown seal key" in out


async def test_seal_refuses_a_head_it_cannot_vouch_for(ledger: Cli, pool: asyncpg.Pool,
                                                       tenant: str, stream: list[uuid.UUID],
                                                       tmp_path: Path) -> None:
    async with insider(pool) as connection:
        await connection.execute(
            "UPDATE ledger.events SET seal = $3 WHERE tenant_id = $1 AND event_id = $2",
            tenant, stream[4], bytes(40))
    status, _, err = await ledger("seal", "--out", str(tmp_path / "c.json"), "--tenant", tenant)
    assert status == 1 and "REFUSED: the head of s" in err
    assert not (tmp_path / "c.json").exists()
