"""Reports: what the ledger knew when, for as-of queries.

* `activities.cancelled_at`: when the cancellation was recorded, so an activity cancelled
  after the as-of date still counts as held on it.
* `unit_parent_changes`, `membership_changes`: every effective-dated change point of the
  tree and of the memberships with the time it was recorded (insert-only). The interval
  tables say what is known now; as-of queries rebuild the intervals from the changes
  recorded by the cutoff.

Rows projected before this revision have neither: run `reports rebuild` after upgrading.

Revision ID: r0003
Revises: r0002
Create Date: 2026-11-30
"""

from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE reports.activities ADD COLUMN cancelled_at timestamptz")
    # The minutes of the first confirmation: participation_log holds only what changed a
    # participation after it (one row per participation fewer to write and to scan).
    op.execute("ALTER TABLE reports.participations ADD COLUMN confirmed_minutes int")
    # As of a date, the whole tenant's tree as then known is derived once per query (a
    # tenant has hundreds of units, not millions): the key's tenant prefix is the index.
    # parent_id NULL: a root, or a dissolved unit.
    op.execute(
        """
        CREATE TABLE reports.unit_parent_changes (
            tenant_id    text        NOT NULL,
            unit_id      uuid        NOT NULL,
            position     bigint      NOT NULL,
            effective    date        NOT NULL,
            parent_id    uuid,
            known_from   timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, unit_id, position)
        )
        """
    )
    # unit_id NULL: the member left. The key serves "all changes of these members"; the
    # index finds the members ever recorded in a unit by the cutoff without the table.
    op.execute(
        """
        CREATE TABLE reports.membership_changes (
            tenant_id    text        NOT NULL,
            member_id    uuid        NOT NULL,
            position     bigint      NOT NULL,
            effective    date        NOT NULL,
            unit_id      uuid,
            known_from   timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, member_id, position)
        )
        """
    )
    op.execute(
        """CREATE INDEX membership_changes_unit ON reports.membership_changes
               (tenant_id, unit_id, known_from) INCLUDE (member_id)"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE reports.membership_changes")
    op.execute("DROP TABLE reports.unit_parent_changes")
    op.execute("ALTER TABLE reports.participations DROP COLUMN confirmed_minutes")
    op.execute("ALTER TABLE reports.activities DROP COLUMN cancelled_at")
