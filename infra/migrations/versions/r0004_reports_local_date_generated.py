"""Reports: each activity's and participation's Shanghai date computed by PostgreSQL.

`local_date` (the Asia/Shanghai date of the start or the check-in; it decides the month)
becomes a stored generated column. The projection no longer computes and sends it: a
rebuild writes hundreds of thousands of participations, and that was a few percent of its
time. Dropping the column drops the indexes on it; they are made again.

Revision ID: r0004
Revises: r0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None

# table -> (the instant the date is of, the indexes on local_date)
_TABLES = {
    "activities": (
        "starts_at",
        ["CREATE INDEX activities_host ON reports.activities "
         "(tenant_id, host_unit_id, local_date)"],
    ),
    "participations": (
        "checked_in_at",
        ["""CREATE INDEX participations_member_period ON reports.participations
               (tenant_id, member_id, local_date)
               INCLUDE (kind, category, minutes, revoked, checked_in_at, activity_id,
                        participation_id)"""],
    ),
}


def upgrade() -> None:
    for table, (instant, indexes) in _TABLES.items():
        op.execute(f"ALTER TABLE reports.{table} DROP COLUMN local_date")
        op.execute(
            f"""ALTER TABLE reports.{table} ADD COLUMN local_date date NOT NULL
                GENERATED ALWAYS AS (({instant} AT TIME ZONE 'Asia/Shanghai')::date) STORED"""
        )
        for index in indexes:
            op.execute(index)


def downgrade() -> None:
    for table, (instant, indexes) in _TABLES.items():
        op.execute(f"ALTER TABLE reports.{table} DROP COLUMN local_date")
        op.execute(f"ALTER TABLE reports.{table} ADD COLUMN local_date date")
        op.execute(f"""UPDATE reports.{table}
                       SET local_date = ({instant} AT TIME ZONE 'Asia/Shanghai')::date""")
        op.execute(f"ALTER TABLE reports.{table} ALTER COLUMN local_date SET NOT NULL")
        for index in indexes:
            op.execute(index)
