"""Reports: projection checkpoints, read models and honor-roll rule sets (schema `reports`).

Every table carries tenant_id first in its key, so a later move to Citus (distributed by
tenant_id) needs no redesign. `reports rebuild` clones the projection tables with
`CREATE TABLE ... (LIKE reports.x INCLUDING ALL)`, so a table added here is rebuilt too
unless it is listed in reports.adapters.schema.KEPT_TABLES (configuration, not a projection).

Revision ID: r0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "r0001"
down_revision = None
branch_labels = ("reports",)
depends_on = "0001"


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS reports")
    # One row per (tenant, projection): the feed cursor (txid, position) applied so far,
    # updated in the same transaction as the read-model changes of each batch.
    op.execute(
        """
        CREATE TABLE reports.checkpoints (
            tenant_id         text        NOT NULL,
            projection        text        NOT NULL,
            txid              bigint      NOT NULL DEFAULT 0,
            position          bigint      NOT NULL DEFAULT 0,
            events_applied    bigint      NOT NULL DEFAULT 0,
            events_skipped    bigint      NOT NULL DEFAULT 0,
            last_recorded_at  timestamptz,
            updated_at        timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, projection)
        )
        """
    )
    # The organisation tree with its history: each unit's parent as a series of intervals
    # [valid_from, valid_to). parent_id NULL: a root, or a dissolved unit.
    op.execute(
        """
        CREATE TABLE reports.units (
            tenant_id    text NOT NULL,
            unit_id      uuid NOT NULL,
            kind         text NOT NULL,
            name         text NOT NULL,
            established  date NOT NULL,
            ended        date,
            PRIMARY KEY (tenant_id, unit_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE reports.unit_parents (
            tenant_id   text NOT NULL,
            unit_id     uuid NOT NULL,
            valid_from  date NOT NULL,
            valid_to    date NOT NULL DEFAULT 'infinity',
            parent_id   uuid,
            PRIMARY KEY (tenant_id, unit_id, valid_from)
        )
        """
    )
    op.execute("CREATE INDEX unit_parents_parent ON reports.unit_parents (tenant_id, parent_id)")
    op.execute(
        """
        CREATE TABLE reports.members (
            tenant_id      text NOT NULL,
            member_id      uuid NOT NULL,
            kind           text NOT NULL,
            employer       text,
            registered_on  date NOT NULL,
            left_on        date,
            PRIMARY KEY (tenant_id, member_id)
        )
        """
    )
    op.execute("CREATE INDEX members_employer ON reports.members (tenant_id, employer)")
    # Which unit a member reported to, as intervals; unit_id NULL after leaving.
    op.execute(
        """
        CREATE TABLE reports.memberships (
            tenant_id   text NOT NULL,
            member_id   uuid NOT NULL,
            valid_from  date NOT NULL,
            valid_to    date NOT NULL DEFAULT 'infinity',
            unit_id     uuid,
            PRIMARY KEY (tenant_id, member_id, valid_from)
        )
        """
    )
    op.execute("CREATE INDEX memberships_unit ON reports.memberships (tenant_id, unit_id)")
    op.execute(
        """
        CREATE TABLE reports.activities (
            tenant_id     text        NOT NULL,
            activity_id   uuid        NOT NULL,
            kind          text        NOT NULL,
            category      text        NOT NULL,
            host_unit_id  uuid        NOT NULL,
            title         text        NOT NULL,
            place         text        NOT NULL,
            starts_at     timestamptz NOT NULL,
            ends_at       timestamptz NOT NULL,
            local_date    date        NOT NULL,
            cancelled     boolean     NOT NULL DEFAULT false,
            closed_at     timestamptz,
            PRIMARY KEY (tenant_id, activity_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX activities_host ON reports.activities (tenant_id, host_unit_id, local_date)"
    )
    # One row per participation, its current state. minutes NULL: not confirmed yet.
    # local_date is the Asia/Shanghai date of the check-in: it decides the month.
    op.execute(
        """
        CREATE TABLE reports.participations (
            tenant_id         text        NOT NULL,
            participation_id  uuid        NOT NULL,
            activity_id       uuid        NOT NULL,
            member_id         uuid        NOT NULL,
            kind              text        NOT NULL,
            category          text        NOT NULL,
            checked_in_at     timestamptz NOT NULL,
            local_date        date        NOT NULL,
            checked_out_at    timestamptz,
            auto_checkout     boolean     NOT NULL DEFAULT false,
            minutes           integer,
            confirmed_by      uuid,
            confirmed_at      timestamptz,
            corrected         boolean     NOT NULL DEFAULT false,
            revoked           boolean     NOT NULL DEFAULT false,
            PRIMARY KEY (tenant_id, participation_id)
        )
        """
    )
    op.execute(
        """CREATE INDEX participations_member
           ON reports.participations (tenant_id, member_id, local_date)"""
    )
    op.execute(
        "CREATE INDEX participations_activity ON reports.participations (tenant_id, activity_id)"
    )
    # The trail of each participation: confirmations, corrections (with reasons), revocations.
    # `at` is the business time of the decision; as-of queries replay this log.
    op.execute(
        """
        CREATE TABLE reports.participation_log (
            tenant_id         text        NOT NULL,
            participation_id  uuid        NOT NULL,
            position          bigint      NOT NULL,
            action            text        NOT NULL,
            minutes           integer,
            previous_minutes  integer,
            reason            text,
            actor_id          uuid        NOT NULL,
            at                timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, participation_id, position)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE reports.honor_rolls (
            tenant_id             text        NOT NULL,
            unit_id               uuid        NOT NULL,
            month                 text        NOT NULL,
            rule_set              text        NOT NULL,
            rule_version          integer     NOT NULL,
            computed_at_position  text        NOT NULL,
            entries               jsonb       NOT NULL,
            published_by          uuid        NOT NULL,
            published_at          timestamptz NOT NULL,
            publicity_ends        date        NOT NULL,
            PRIMARY KEY (tenant_id, unit_id, month)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE reports.honor_roll_objections (
            tenant_id    text        NOT NULL,
            unit_id      uuid        NOT NULL,
            month        text        NOT NULL,
            position     bigint      NOT NULL,
            member_id    uuid,
            objection    text        NOT NULL,
            recorded_by  uuid        NOT NULL,
            recorded_at  timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, unit_id, month, position)
        )
        """
    )
    # Configuration, not a projection: kept across rebuilds. Versions are never changed.
    op.execute(
        """
        CREATE TABLE reports.rule_sets (
            tenant_id    text        NOT NULL,
            name         text        NOT NULL,
            version      integer     NOT NULL,
            min_minutes  integer     NOT NULL,
            top_n        integer     NOT NULL,
            tie_break    text[]      NOT NULL,
            kinds        text[]      NOT NULL,
            created_by   text        NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, name, version)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA reports CASCADE")
