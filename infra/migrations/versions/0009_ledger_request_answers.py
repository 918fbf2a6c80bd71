"""Ledger: a correction request's answer may say how the organiser answered it.

`answer` gains 'accepted' and 'amended' (a ParticipationCorrected that answers the request,
as asked or with other minutes) and 'refused' (CorrectionRequestRefused, a new event: the
request is answered with no change). Nothing to backfill: events written before this
revision carry neither the correction's `answer` nor the refusal, so every stored row keeps
its answer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ANSWERS = ("corrected", "revoked", "confirmed")
NEW_ANSWERS = (*ANSWERS, "accepted", "amended", "refused")


def _check(answers: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{a}'" for a in answers)
    return f"""ALTER TABLE ledger.correction_requests
        ADD CONSTRAINT correction_requests_answer_check CHECK (answer IN ({listed}))"""


def upgrade() -> None:
    op.execute("ALTER TABLE ledger.correction_requests "
               "DROP CONSTRAINT correction_requests_answer_check")
    op.execute(_check(NEW_ANSWERS))


def downgrade() -> None:
    # Refused, accepted and amended answers say "corrected" (or nothing said) in 0008's terms.
    op.execute("ALTER TABLE ledger.correction_requests "
               "DROP CONSTRAINT correction_requests_answer_check")
    op.execute("""UPDATE ledger.correction_requests SET answer = 'corrected'
                  WHERE answer IN ('accepted', 'amended')""")
    op.execute("""UPDATE ledger.correction_requests
                  SET status = 'open', answer = NULL, answered_at = NULL
                  WHERE answer = 'refused'""")
    op.execute(_check(ANSWERS))
