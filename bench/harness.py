"""The harness every benchmark runs in: a scratch database, and the JSON-lines output."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from infra import migrate, postgres


def emit(name: str, value: object, unit: str) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit}, ensure_ascii=False),
          flush=True)


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """A freshly migrated database on the embedded (or DATABASE_URL's) server, dropped after.

    Events cannot be deleted, so each run gets its own database.
    """
    server_url = postgres.database_url()
    base, _, _ = server_url.rpartition("/")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = f"{base}/{name}"
    # Alembic runs its own event loop: keep it off this one.
    await asyncio.to_thread(migrate.upgrade, url)
    try:
        yield url
    finally:
        admin = await asyncpg.connect(f"{base}/postgres")
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()
