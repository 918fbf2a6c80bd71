"""Reports: a covering index for the per-member, per-period scans of participations.

Unit reports and honor rolls read each member's participations within a period; with the
columns they need in the index, PostgreSQL answers from the index alone.

Revision ID: r0002
Revises: r0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE INDEX participations_member_period ON reports.participations
               (tenant_id, member_id, local_date)
               INCLUDE (kind, category, minutes, revoked, checked_in_at, activity_id,
                        participation_id)"""
    )
    op.execute("DROP INDEX IF EXISTS reports.participations_member")


def downgrade() -> None:
    op.execute(
        """CREATE INDEX participations_member
               ON reports.participations (tenant_id, member_id, local_date)"""
    )
    op.execute("DROP INDEX IF EXISTS reports.participations_member_period")
