"""Ledger: the list read model of correction requests (the review queue).

Kept by `ledger.adapters.catalogue` in the same transaction as every append, like the
catalogues of 0003: the organiser's review page shows a member's request, with their
reason and the hours they ask for, as soon as it is filed, and a request leaves the queue
when the record is corrected, revoked or confirmed. Existing databases are backfilled here
from the events with the same rules (a test checks the two agree).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = [
    # One row per CorrectionRequested event (request_id is its event id). `host_unit_id` is
    # the activity's, which never changes: the organisers of that unit answer (谁组织谁记录).
    # `version` is the stream version of the request: an answer applies to the requests
    # before it in the activity's stream.
    """
    CREATE TABLE ledger.correction_requests (
        tenant_id          text        NOT NULL REFERENCES ledger.tenants,
        request_id         uuid        NOT NULL,
        activity_id        uuid        NOT NULL,
        host_unit_id       uuid        NOT NULL,
        member_id          uuid        NOT NULL,
        participation_id   uuid        NOT NULL,
        reason             text        NOT NULL,
        requested_minutes  integer,
        requested_at       timestamptz NOT NULL,
        status             text        NOT NULL CHECK (status IN ('open', 'answered')),
        answered_at        timestamptz,
        answer             text        CHECK (answer IN ('corrected', 'revoked', 'confirmed')),
        version            integer     NOT NULL,
        PRIMARY KEY (tenant_id, request_id),
        CHECK ((status = 'open') = (answer IS NULL)
               AND (answer IS NULL) = (answered_at IS NULL))
    )
    """,
    # The list is newest request first.
    """CREATE INDEX correction_requests_by_time
        ON ledger.correction_requests (tenant_id, requested_at DESC, request_id DESC)""",
    # Answering a participation's open requests, and an activity's open requests (roster).
    """CREATE INDEX correction_requests_open
        ON ledger.correction_requests (tenant_id, activity_id, participation_id)
        WHERE status = 'open'""",
]

BACKFILL = [
    # A request is answered by the first correction, revocation or confirmation of its
    # participation that follows it in the activity's stream.
    """
    INSERT INTO ledger.correction_requests
        (tenant_id, request_id, activity_id, host_unit_id, member_id, participation_id,
         reason, requested_minutes, requested_at, status, answered_at, answer, version)
    SELECT r.tenant_id, r.event_id, c.activity_id, c.host_unit_id,
           (r.data->>'member_id')::uuid, (r.data->>'participation_id')::uuid,
           r.data->>'reason', (r.data->>'requested_minutes')::integer,
           (r.data->>'requested_at')::timestamptz,
           CASE WHEN a.type IS NULL THEN 'open' ELSE 'answered' END, a.at,
           CASE a.type WHEN 'ParticipationCorrected' THEN 'corrected'
                       WHEN 'ParticipationRevoked' THEN 'revoked'
                       WHEN 'AttendanceConfirmed' THEN 'confirmed' END,
           r.version
    FROM ledger.events r
    JOIN ledger.activity_catalogue c
        ON c.tenant_id = r.tenant_id AND c.activity_id = (r.data->>'activity_id')::uuid
    LEFT JOIN LATERAL (
        SELECT e.type, coalesce(e.data->>'corrected_at', e.data->>'revoked_at',
                                e.data->>'confirmed_at')::timestamptz AS at
        FROM ledger.events e
        WHERE e.tenant_id = r.tenant_id AND e.stream_id = r.stream_id
          AND e.version > r.version
          AND e.type IN ('ParticipationCorrected', 'ParticipationRevoked',
                         'AttendanceConfirmed')
          AND e.data->>'participation_id' = r.data->>'participation_id'
        ORDER BY e.version LIMIT 1
    ) a ON true
    WHERE r.type = 'CorrectionRequested'
    ON CONFLICT DO NOTHING
    """,
]


def upgrade() -> None:
    for statement in TABLES + BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE ledger.correction_requests")
