"""Members' correction requests, newest first: the organisers' review queue (status=open).

A request is filed on its activity (`POST /api/v1/activities/{id}/correction-requests`);
this list reads the ledger's catalogue of them (`ledger.correction_requests`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from contract.access import Principal, read
from ledger.adapters.listings import (
    CorrectionRequestFilter,
    CorrectionRequestSummary,
    InvalidCursor,
    Listings,
)
from ledger.entrypoints.api.responses import invalid_cursor
from ledger.entrypoints.api.scope import listed_units
from ledger.handlers import Ledger


class CorrectionRequestList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[CorrectionRequestSummary]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


class CorrectionRequestController(Controller):
    path = "/api/v1/correction-requests"
    tags = ("participation",)

    @get("/", operation_id="listCorrectionRequests", opt=read(),
         summary="Members' correction requests in scope, newest first",
         description="Requests on activities whose host unit is within the token's scope, "
                     "newest first, 1–200 per page (default 50), each with the member's "
                     "`reason` and the `requested_minutes` they ask for (null: not said). "
                     "A request is `open` until the record is corrected, revoked or "
                     "confirmed after it (`answer`, `answered_at`); `status=open` is the "
                     "review queue. Filters: `status`, `unit_id` (host units: that unit and "
                     "its subtree; 403 outside the scope), `activity_id`, `member_id`. "
                     "Pass the answer's `next` as `after` for the next page.")
    async def list_correction_requests(
        self,
        ledger: NamedDependency[Ledger],
        listings: NamedDependency[Listings],
        principal: NamedDependency[Principal],
        status: FromQuery[Literal["open", "answered"] | None] = None,
        unit_id: FromQuery[uuid.UUID | None] = None,
        activity_id: FromQuery[uuid.UUID | None] = None,
        member_id: FromQuery[uuid.UUID | None] = None,
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> CorrectionRequestList:
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        where = CorrectionRequestFilter(units=listed_units(tree, principal, unit_id),
                                        status=status, activity_id=activity_id,
                                        member_id=member_id)
        try:
            items, following = await listings.correction_requests(principal.tenant_id, where,
                                                                  after, limit)
        except InvalidCursor:
            raise invalid_cursor() from None
        return CorrectionRequestList(items=items, next=following)
