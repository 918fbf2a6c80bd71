"""SQL building blocks for "as the tree was at the time" and "as the ledger stood on a date".

* `SUBTREE`: the unit $2 and every unit below it, each with the dates [valid_from, valid_to)
  it was below, within the period [$3, $4) (effective-dated parents, merges as moves).
* `SPANS`: each member reported to a unit of SUBTREE, with the dates they belonged to it.
* `parts(as_of)`: participations that count: not revoked; with as_of (a parameter holding
  an instant), only check-ins before it, with the minutes confirmed/corrected before it.

Queries using them take $1 tenant, $2 unit, $3 period start, $4 period end.
"""

from __future__ import annotations

SUBTREE = """
subtree(unit_id, valid_from, valid_to, depth) AS (
    SELECT $2::uuid, $3::date, $4::date, 0
  UNION ALL
    SELECT p.unit_id, greatest(p.valid_from, s.valid_from), least(p.valid_to, s.valid_to),
           s.depth + 1
    FROM subtree s
    JOIN {s}.unit_parents p ON p.tenant_id = $1 AND p.parent_id = s.unit_id
        AND p.valid_from < s.valid_to AND p.valid_to > s.valid_from
    WHERE s.depth < 12
)"""

SPANS = """
spans AS (
    SELECT m.member_id, greatest(m.valid_from, s.valid_from) AS d_from,
           least(m.valid_to, s.valid_to) AS d_to
    FROM subtree s
    JOIN {s}.memberships m ON m.tenant_id = $1 AND m.unit_id = s.unit_id
        AND m.valid_from < s.valid_to AND m.valid_to > s.valid_from
)"""

_CURRENT = """
parts AS (
    SELECT participation_id, activity_id, member_id, kind, category, local_date,
           checked_in_at, minutes
    FROM {s}.participations WHERE tenant_id = $1 AND NOT revoked
)"""

_AS_OF = """
parts AS (
    SELECT p.participation_id, p.activity_id, p.member_id, p.kind, p.category, p.local_date,
           p.checked_in_at, l.minutes
    FROM {s}.participations p
    LEFT JOIN LATERAL (
        SELECT bool_or(action = 'revoked') AS revoked,
               (array_agg(minutes ORDER BY position DESC)
                    FILTER (WHERE action <> 'revoked'))[1] AS minutes
        FROM {s}.participation_log
        WHERE tenant_id = $1 AND participation_id = p.participation_id AND at < AS_OF
    ) l ON true
    WHERE p.tenant_id = $1 AND p.checked_in_at < AS_OF AND l.revoked IS NOT TRUE
)"""


def parts(as_of_parameter: str | None) -> str:
    """The `parts` CTE; as_of_parameter names the query parameter ("$5") or None for now."""
    if as_of_parameter is None:
        return _CURRENT
    return _AS_OF.replace("AS_OF", f"{as_of_parameter}::timestamptz")
