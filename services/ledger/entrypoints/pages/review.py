"""Flagged participation across the organiser's activities, for a person to decide.

A row is here while it needs someone: auto-closed check-outs, early check-ins, late
check-outs, one phone checking in several members, check-ins on the poster alone (the
flags its check-in and check-out recorded), overlapping sessions (not yet confirmed or
revoked), credits beyond the time present (while a correction keeps them so, confirmed or
not: someone should see them), and the members' open correction requests, each shown with
the member's reason and the hours asked for, answered right there (accept as asked, amend,
refuse), with the record's correction history. The requests come from the ledger's
catalogue of them, so a request on an older activity is listed too; flags are looked at in
the newest activities in scope and in those.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from ledger.adapters.listings import CorrectionRequestFilter, CorrectionRequestSummary, Listings
from ledger.adapters.page_queries import PageQueries, Person
from ledger.domain.activities import ActivityState, Participation
from ledger.entrypoints.pages.common import OrganiserSession, Page
from ledger.entrypoints.pages.organisers import activities_in_scope
from ledger.entrypoints.pages.roster import DONE
from ledger.entrypoints.pages.views import overlaps, requests_by_participation
from ledger.handlers import Ledger

# The review list shows at most this many open requests, the newest.
OPEN_REQUESTS = 200


@dataclass(frozen=True)
class ReviewRow:
    activity: ActivityState
    participation: Participation
    person: Person | None
    flags: list[str]
    # The member's open correction requests on this record, newest first.
    requests: list[CorrectionRequestSummary]

    @property
    def creditable(self) -> int | None:
        """What confirming credits: time present within the window, capped."""
        p = self.participation
        if p.checked_out_at is None:
            return None
        return self.activity.creditable_minutes(p.checked_in_at, p.checked_out_at)


def needs_review(p: Participation, flags: set[str]) -> bool:
    if p.revoked:
        return False
    return bool(flags & {"correction_requested", "beyond_presence"}) or (
        bool(flags) and p.minutes is None)


class ReviewPages(Controller):
    path = "/organiser/review"
    include_in_schema = False

    @get("/", operation_id="pageReview")
    async def review(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     queries: NamedDependency[PageQueries],
                     listings: NamedDependency[Listings],
                     organiser: NamedDependency[OrganiserSession],
                     done: FromQuery[str | None] = None) -> Any:
        tree, states = await activities_in_scope(ledger, listings, organiser)
        requests, _more = await listings.correction_requests(
            organiser.tenant_id,
            CorrectionRequestFilter(units=tree.subtree(organiser.unit_id), status="open"),
            None, OPEN_REQUESTS)
        asked = requests_by_participation(requests)
        shown = {state.activity_id for state in states}
        for activity_id in dict.fromkeys(r.activity_id for r in requests):
            if activity_id not in shown:
                state = await ledger.state.activity(organiser.tenant_id, activity_id)
                if state is not None:
                    states.append(state)
        overlapping = overlaps(states)
        found: list[tuple[ActivityState, Participation, set[str]]] = []
        for activity in states:
            for p in activity.participations.values():
                mine = set(p.flags)
                if p.participation_id in overlapping:
                    mine.add("overlap")
                if p.participation_id in asked:
                    mine.add("correction_requested")
                if needs_review(p, mine):
                    found.append((activity, p, mine))
        people = await queries.people(organiser.tenant_id,
                                      [p.member_id for _a, p, _f in found])
        rows = [ReviewRow(a, p, people.get(p.member_id), sorted(f),
                          asked.get(p.participation_id, []))
                for a, p, f in found]
        rows.sort(key=lambda r: r.participation.checked_in_at, reverse=True)
        names = await queries.organiser_names(
            organiser.tenant_id, [s.by for r in rows for s in r.participation.history if s.by])
        return page.render("review.html", rows=rows, organiser=organiser, names=names,
                           new_id=uuid.uuid4,
                           notice=page.t(DONE[done]) if done in DONE else None)
