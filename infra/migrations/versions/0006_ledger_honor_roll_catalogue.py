"""Ledger: the list read model of published honor rolls, per unit and month.

The published rolls are the ledger's own events (stream honor-roll-<unit>-<month>), so the
ledger keeps their list, by `ledger.adapters.catalogue` in the transaction of the append
like the other catalogues; the rolls' entries and drafts stay the reports service's.
Existing databases are backfilled here from the events (a test checks the two agree).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = [
    # One row per published roll (stream honor-roll-<unit>-<month>); `version` is the
    # stream version of the last event folded in, so an objection is counted once.
    """
    CREATE TABLE ledger.honor_roll_catalogue (
        tenant_id       text        NOT NULL REFERENCES ledger.tenants,
        unit_id         uuid        NOT NULL,
        month           text        NOT NULL,
        rule_set        text        NOT NULL,
        rule_version    integer     NOT NULL,
        published_at    timestamptz NOT NULL,
        publicity_ends  date        NOT NULL,
        entry_count     integer     NOT NULL,
        objection_count integer     NOT NULL,
        version         integer     NOT NULL,
        PRIMARY KEY (tenant_id, unit_id, month)
    )
    """,
    """CREATE INDEX honor_roll_catalogue_by_month
        ON ledger.honor_roll_catalogue (tenant_id, month DESC, unit_id DESC)""",
]


BACKFILL = [
    """
    INSERT INTO ledger.honor_roll_catalogue
        (tenant_id, unit_id, month, rule_set, rule_version, published_at, publicity_ends,
         entry_count, objection_count, version)
    SELECT p.tenant_id, (p.data->>'unit_id')::uuid, p.data->>'month', p.data->>'rule_set',
           (p.data->>'rule_version')::integer, (p.data->>'published_at')::timestamptz,
           (p.data->>'publicity_ends')::date, jsonb_array_length(p.data->'entries'),
           coalesce(o.objections, 0), greatest(p.version, o.version)
    FROM ledger.events p
    LEFT JOIN (SELECT tenant_id, stream_id, count(*) AS objections, max(version) AS version
               FROM ledger.events WHERE type = 'HonorRollObjectionRecorded'
               GROUP BY tenant_id, stream_id) o
        ON o.tenant_id = p.tenant_id AND o.stream_id = p.stream_id
    WHERE p.type = 'HonorRollPublished'
    ON CONFLICT DO NOTHING
    """,
]


def upgrade() -> None:
    for statement in TABLES + BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE ledger.honor_roll_catalogue")
