"""Reports: the delivery log is kept a number of days (WEBHOOK_LOG_DAYS), pruned by age.

The dispatcher (and `reports webhooks prune`) deletes the attempts older than that, oldest
first in batches; this index lets each batch find them without reading the whole log.

Revision ID: r0009
Revises: r0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "r0009"
down_revision = "r0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX webhook_deliveries_attempted "
               "ON reports.webhook_deliveries (attempted_at)")


def downgrade() -> None:
    op.execute("DROP INDEX reports.webhook_deliveries_attempted")
