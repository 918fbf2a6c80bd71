"""SQL building blocks for "as the tree was at the time" and "as the ledger stood on a date".

* `subtree`: the unit $2 and every unit below it, each with the dates [valid_from, valid_to)
  it was below, within the period [$3, $4) (effective-dated parents, merges as moves).
* `spans`: each member reported to a unit of subtree, with the dates they belonged to it.
* `parts`: participations that count: not revoked; as of an instant, only check-ins before
  it, with the minutes confirmed/corrected before it.

Queries name them `{subtree}`, `{spans}`, `{parts}`; `history(sql, as_of_parameter)` fills
them in: as known now (the interval tables), or as the ledger stood at the instant held by
the parameter: the tree and memberships from the change points *recorded* before it (a
transfer recorded later, even if effective earlier, does not change the answer), the
participations by the business times of the events.

Queries using them take $1 tenant, $2 unit, $3 period start, $4 period end.
"""

from __future__ import annotations

_SUBTREE = """
subtree(unit_id, valid_from, valid_to, depth) AS (
    SELECT $2::uuid, $3::date, $4::date, 0
  UNION ALL
    SELECT p.unit_id, greatest(p.valid_from, s.valid_from), least(p.valid_to, s.valid_to),
           s.depth + 1
    FROM subtree s
    JOIN PARENTS p ON p.tenant_id = $1 AND p.parent_id = s.unit_id
        AND p.valid_from < s.valid_to AND p.valid_to > s.valid_from
    WHERE s.depth < 12
)"""

_SPANS = """
spans AS (
    SELECT m.member_id, greatest(m.valid_from, s.valid_from) AS d_from,
           least(m.valid_to, s.valid_to) AS d_to
    FROM subtree s
    JOIN MEMBERSHIPS m ON m.tenant_id = $1 AND m.unit_id = s.unit_id
        AND m.valid_from < s.valid_to AND m.valid_to > s.valid_from
)"""

SUBTREE = _SUBTREE.replace("PARENTS", "{s}.unit_parents")
SPANS = _SPANS.replace("MEMBERSHIPS", "{s}.memberships")

# The intervals as Timeline derives them, from the changes recorded before AS_OF: change
# points by effective date, the later-recorded of two on one date wins, the last runs on.
# The tenant's whole tree is derived once (MATERIALIZED: not again at each level of the
# recursion); a tenant has hundreds of units.
_KNOWN_PARENTS = """
known_parents AS MATERIALIZED (
    SELECT tenant_id, unit_id, effective AS valid_from,
           lead(effective, 1, 'infinity'::date) OVER (PARTITION BY unit_id ORDER BY effective)
               AS valid_to,
           parent_id
    FROM (SELECT DISTINCT ON (unit_id, effective) tenant_id, unit_id, effective, parent_id
          FROM {s}.unit_parent_changes
          WHERE tenant_id = $1 AND known_from < AS_OF
          ORDER BY unit_id, effective, position DESC) latest
)"""

# The memberships as then known of the members ever recorded in a unit of the subtree by
# then (found by the index membership_changes_unit), each with their whole history (by the
# key), derived once (MATERIALIZED). The members come as an array so that the plan is index
# scans whatever PostgreSQL guesses of the recursive subtree's size: joining the changes to
# the subtree directly made it choose a nested loop over the whole table, and deriving the
# whole tenant's memberships cost most of a community's answer (25,000 rows sorted for a
# few hundred members).
_KNOWN_MEMBERSHIPS = """
known_memberships AS MATERIALIZED (
    SELECT tenant_id, member_id, effective AS valid_from,
           lead(effective, 1, 'infinity'::date) OVER (PARTITION BY member_id ORDER BY effective)
               AS valid_to,
           unit_id
    FROM (SELECT DISTINCT ON (member_id, effective) tenant_id, member_id, effective, unit_id
          FROM {s}.membership_changes
          WHERE tenant_id = $1 AND known_from < AS_OF
            AND member_id = ANY (ARRAY(
                SELECT DISTINCT c.member_id FROM {s}.membership_changes c
                WHERE c.tenant_id = $1 AND c.unit_id IN (SELECT unit_id FROM subtree)
                  AND c.known_from < AS_OF))
          ORDER BY member_id, effective, position DESC) latest
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
           p.checked_in_at,
           -- The latest change by then, else the first confirmation if made by then.
           coalesce(l.minutes, CASE WHEN p.confirmed_at < AS_OF THEN p.confirmed_minutes END)
               AS minutes
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
    return _at(_AS_OF, as_of_parameter)


def history(sql: str, as_of_parameter: str | None) -> str:
    """`sql` with its {subtree}, {spans} and {parts} filled in: now (as_of_parameter None),
    or as of the instant in that query parameter ("$5")."""
    if as_of_parameter is None:
        subtree, spans = SUBTREE, SPANS
    else:
        subtree = _at(f"{_KNOWN_PARENTS}, {_SUBTREE.replace('PARENTS', 'known_parents')}",
                      as_of_parameter)
        spans = _at(f"{_KNOWN_MEMBERSHIPS}, {_SPANS.replace('MEMBERSHIPS', 'known_memberships')}",
                    as_of_parameter)
    return (sql.replace("{subtree}", subtree).replace("{spans}", spans)
            .replace("{parts}", parts(as_of_parameter)))


def _at(sql: str, as_of_parameter: str) -> str:
    return sql.replace("AS_OF", f"{as_of_parameter}::timestamptz")
