"""Ledger: list read models (activity and member catalogues, who took part where).

Kept by `ledger.adapters.catalogue` in the same transaction as every append, so an
organiser sees what they just scheduled. Existing databases are backfilled here from the
events with the same rules (a test checks the two agree).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# `version` is the stream version of the last event that changed the row: a change older
# than what the row holds is ignored, so writing a batch twice does no harm.
TABLES = [
    """
    CREATE TABLE ledger.activity_catalogue (
        tenant_id     text        NOT NULL REFERENCES ledger.tenants,
        activity_id   uuid        NOT NULL,
        host_unit_id  uuid        NOT NULL,
        kind          text        NOT NULL,
        category      text        NOT NULL,
        title         text        NOT NULL,
        place         text        NOT NULL,
        starts_at     timestamptz NOT NULL,
        ends_at       timestamptz NOT NULL,
        capacity      integer,
        status        text        NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'closed')),
        version       integer     NOT NULL,
        PRIMARY KEY (tenant_id, activity_id)
    )
    """,
    # Every list is newest start first; scope, status and title filter along this index
    # (a street's first page reads a few hundred entries, see docs/benchmarks.md).
    """CREATE INDEX activity_catalogue_by_start
        ON ledger.activity_catalogue (tenant_id, starts_at DESC, activity_id DESC)""",
    """
    CREATE TABLE ledger.member_catalogue (
        tenant_id      text    NOT NULL REFERENCES ledger.tenants,
        member_id      uuid    NOT NULL,
        kind           text    NOT NULL,
        unit_id        uuid,
        registered_on  date    NOT NULL,
        left_on        date,
        version        integer NOT NULL,
        PRIMARY KEY (tenant_id, member_id)
    )
    """,
    """CREATE INDEX member_catalogue_by_registration
        ON ledger.member_catalogue (tenant_id, registered_on, member_id)""",
    "CREATE INDEX member_catalogue_by_unit ON ledger.member_catalogue (tenant_id, unit_id)",
    # One row per member per activity they checked in to (whatever became of it).
    """
    CREATE TABLE ledger.activity_participants (
        tenant_id    text NOT NULL REFERENCES ledger.tenants,
        activity_id  uuid NOT NULL,
        member_id    uuid NOT NULL,
        PRIMARY KEY (tenant_id, activity_id, member_id)
    )
    """,
    """CREATE INDEX activity_participants_by_member
        ON ledger.activity_participants (tenant_id, member_id)""",
]

# The latest event of each stream among some types (one pass over the events table each).
_LATEST = """SELECT DISTINCT ON (tenant_id, stream_id) tenant_id, stream_id, version, data
    FROM ledger.events WHERE type IN ({types}) ORDER BY tenant_id, stream_id, version DESC"""

BACKFILL = [
    f"""
    INSERT INTO ledger.activity_catalogue
        (tenant_id, activity_id, host_unit_id, kind, category, title, place, starts_at,
         ends_at, capacity, status, version)
    SELECT s.tenant_id, (s.data->>'activity_id')::uuid, (s.data->>'host_unit_id')::uuid,
           s.data->>'kind', s.data->>'category', s.data->>'title',
           coalesce(r.data->>'place', s.data->>'place'),
           coalesce(r.data->>'starts_at', s.data->>'starts_at')::timestamptz,
           coalesce(r.data->>'ends_at', s.data->>'ends_at')::timestamptz,
           (s.data->>'capacity')::integer,
           CASE e.type WHEN 'ActivityCancelled' THEN 'cancelled'
                       WHEN 'ActivityClosed' THEN 'closed' ELSE 'scheduled' END,
           greatest(s.version, r.version, e.version)
    FROM ledger.events s
    LEFT JOIN ({_LATEST.format(types="'ActivityRescheduled'")}) r
        ON r.tenant_id = s.tenant_id AND r.stream_id = s.stream_id
    LEFT JOIN (SELECT DISTINCT ON (tenant_id, stream_id) tenant_id, stream_id, version, type
               FROM ledger.events WHERE type IN ('ActivityCancelled', 'ActivityClosed')
               ORDER BY tenant_id, stream_id, version DESC) e
        ON e.tenant_id = s.tenant_id AND e.stream_id = s.stream_id
    WHERE s.type = 'ActivityScheduled'
    ON CONFLICT DO NOTHING
    """,
    f"""
    INSERT INTO ledger.member_catalogue
        (tenant_id, member_id, kind, unit_id, registered_on, left_on, version)
    SELECT g.tenant_id, (g.data->>'member_id')::uuid, g.data->>'kind',
           coalesce(u.data->>'to_unit_id', u.data->>'unit_id')::uuid,
           (g.data->>'registered_on')::date, (l.data->>'effective')::date,
           greatest(g.version, u.version, l.version)
    FROM ledger.events g
    LEFT JOIN ({_LATEST.format(types="'MemberReported', 'MemberTransferred'")}) u
        ON u.tenant_id = g.tenant_id AND u.stream_id = g.stream_id
    LEFT JOIN ({_LATEST.format(types="'MemberLeft'")}) l
        ON l.tenant_id = g.tenant_id AND l.stream_id = g.stream_id
    WHERE g.type = 'MemberRegistered'
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO ledger.activity_participants (tenant_id, activity_id, member_id)
    SELECT DISTINCT tenant_id, (data->>'activity_id')::uuid, (data->>'member_id')::uuid
    FROM ledger.events WHERE type = 'CheckedIn'
    ON CONFLICT DO NOTHING
    """,
]


def upgrade() -> None:
    for statement in TABLES + BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE ledger.activity_participants, ledger.member_catalogue, "
               "ledger.activity_catalogue")
