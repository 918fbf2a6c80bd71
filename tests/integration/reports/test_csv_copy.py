"""COPY as CSV written by msgspec (csv_copy.py): the rows land as asyncpg's COPY puts them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg
import msgspec

from reports.adapters import csv_copy

SHANGHAI = timezone(timedelta(hours=8))


class Row(msgspec.Struct, array_like=True):
    row_id: uuid.UUID
    word: str
    at: datetime | None
    day: date | None
    flag: bool
    count: int | None


COLUMNS = Row.__struct_fields__
PLAIN = [
    Row(uuid.UUID(int=1), "service", datetime(2025, 3, 31, 23, 59, 59, 999999, SHANGHAI),
        date(2025, 3, 31), True, 0),
    Row(uuid.UUID(int=2), "", datetime(2025, 1, 1, tzinfo=UTC), None, False, None),
    # Strings that only look like CSV's or COPY's syntax stay strings.
    Row(uuid.UUID(int=3), "null", None, date(2024, 2, 29), False, -7),
    Row(uuid.UUID(int=4), "a,null,b", None, None, True, 2**31 - 1),
    Row(uuid.UUID(int=5), "志愿者 ·", None, None, True, 1),
]
# Rows the CSV cannot carry as they are: then COPY takes them the usual way.
AWKWARD = [
    Row(uuid.UUID(int=6), 'say "hi"', None, None, False, 1),
    Row(uuid.UUID(int=7), "back\\slash", None, None, False, 1),
    Row(uuid.UUID(int=8), "line\nbreak\r\t", None, None, False, 1),
    Row(uuid.UUID(int=9), "x],[y", None, None, False, 1),
]


async def _table(connection: asyncpg.Connection, name: str) -> None:
    await connection.execute(f"""CREATE TEMP TABLE {name} (tenant_id text, row_id uuid,
        word text, at timestamptz, day date, flag bool, count int) ON COMMIT DROP""")


async def _copied(connection: asyncpg.Connection, tenant_id: str,
                  rows: list[Row]) -> tuple[list, list]:
    """The rows as csv_copy puts them and as asyncpg's copy_records_to_table does."""
    await _table(connection, "by_csv")
    await _table(connection, "by_records")
    schema = await connection.fetchval("SELECT nspname FROM pg_namespace "
                                       "WHERE oid = pg_my_temp_schema()")
    await csv_copy.copy_rows(connection, schema, "by_csv", COLUMNS, tenant_id, rows)
    await connection.copy_records_to_table(
        "by_records", schema_name=schema, columns=("tenant_id", *COLUMNS),
        records=[(tenant_id, *msgspec.structs.astuple(row)) for row in rows])
    return ([tuple(r) for r in await connection.fetch("SELECT * FROM by_csv ORDER BY row_id")],
            [tuple(r) for r in await connection.fetch(
                "SELECT * FROM by_records ORDER BY row_id")])


async def test_plain_rows_go_in_as_csv_and_land_as_copy_puts_them(pool):
    assert csv_copy.csv_of("t", PLAIN) is not None
    async with pool.acquire() as connection, connection.transaction():
        by_csv, by_records = await _copied(connection, 'odd "tenant", too', PLAIN)
    assert by_csv == by_records and len(by_csv) == len(PLAIN)


async def test_rows_csv_cannot_carry_go_in_the_usual_way(pool):
    for row in AWKWARD:
        assert csv_copy.csv_of("t", [*PLAIN, row]) is None, row.word
    async with pool.acquire() as connection, connection.transaction():
        by_csv, by_records = await _copied(connection, "t", [*PLAIN, *AWKWARD])
    assert by_csv == by_records and len(by_csv) == len(PLAIN) + len(AWKWARD)
