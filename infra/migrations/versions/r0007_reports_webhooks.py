"""Reports: webhooks for other community systems.

* `webhook_subscriptions`: per tenant, a unit (events concerning its subtree), the event
  types, the URL and its signing secret, and where the subscription stands: its feed
  cursor, its reminder cursor, the attempts at the delivery in flight and when the next
  one is due.
* `webhook_deliveries`: every attempt (status, latency, error), insert-only. The
  subscription's cursor moves in the same transaction as the row of the 2xx attempt.
* `webhook_reminders`: the synthetic reminder events, each under a key derived from what it
  reminds of, so that generating them again (after a restart) adds nothing.

Configuration and delivery state, not projections: a rebuild keeps them
(`reports.adapters.schema.KEPT_TABLES`).

Revision ID: r0007
Revises: r0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "r0007"
down_revision = "r0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE reports.webhook_subscriptions (
            tenant_id        text        NOT NULL,
            subscription_id  uuid        NOT NULL,
            unit_id          uuid        NOT NULL,
            url              text        NOT NULL,
            event_types      text[]      NOT NULL,
            secret           text        NOT NULL,
            description      text        NOT NULL DEFAULT '',
            created_by       text        NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            disabled_at      timestamptz,
            cursor_txid      bigint      NOT NULL DEFAULT 0,
            cursor_position  bigint      NOT NULL DEFAULT 0,
            reminder_seq     bigint      NOT NULL DEFAULT 0,
            attempts         integer     NOT NULL DEFAULT 0,
            next_attempt_at  timestamptz,
            PRIMARY KEY (tenant_id, subscription_id)
        )
        """
    )
    op.execute("CREATE INDEX webhook_subscriptions_unit ON reports.webhook_subscriptions "
               "(tenant_id, unit_id)")
    op.execute(
        """
        CREATE TABLE reports.webhook_deliveries (
            tenant_id        text        NOT NULL,
            delivery_id      bigint      GENERATED ALWAYS AS IDENTITY,
            subscription_id  uuid        NOT NULL,
            event_id         text        NOT NULL,
            event_type       text        NOT NULL,
            event_cursor     text,
            attempt          integer     NOT NULL,
            attempted_at     timestamptz NOT NULL,
            status_code      integer,
            latency_ms       integer     NOT NULL,
            error            text,
            delivered        boolean     NOT NULL,
            PRIMARY KEY (tenant_id, delivery_id)
        )
        """
    )
    op.execute("CREATE INDEX webhook_deliveries_subscription ON reports.webhook_deliveries "
               "(tenant_id, subscription_id, delivery_id)")
    op.execute(
        """
        CREATE TABLE reports.webhook_reminders (
            tenant_id    text        NOT NULL,
            seq          bigint      GENERATED ALWAYS AS IDENTITY,
            reminder_id  text        NOT NULL,
            type         text        NOT NULL,
            unit_id      uuid        NOT NULL,
            due_at       timestamptz NOT NULL,
            data         jsonb       NOT NULL,
            PRIMARY KEY (tenant_id, seq),
            UNIQUE (tenant_id, reminder_id)
        )
        """
    )


def downgrade() -> None:
    for table in ("webhook_reminders", "webhook_deliveries", "webhook_subscriptions"):
        op.execute(f"DROP TABLE reports.{table}")
