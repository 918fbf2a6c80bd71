"""Honor rolls are computed by the reports service; publishing freezes one here, and the
ledger lists the published ones (its catalogue of the rolls' streams)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from contract.access import ORGANISERS, Principal, read, write
from contract.calendar import month_bounds, valid_month
from contract.problems import invalid
from ledger.adapters.listings import HonorRollFilter, HonorRollSummary, InvalidCursor, Listings
from ledger.domain.honor_rolls import PublishHonorRoll, RecordObjection
from ledger.entrypoints.api.responses import command_response, invalid_cursor
from ledger.entrypoints.api.scope import listed_units
from ledger.handlers import Actor, Ledger, Outcome


class HonorRollList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[HonorRollSummary]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


FIRST = "The first month listed, YYYY-MM (Asia/Shanghai)"
LAST = "The last month listed, YYYY-MM (Asia/Shanghai)"


def month_range(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """`from` and `to` as months YYYY-MM (both inclusive), checked."""
    for name, text in (("from", first), ("to", last)):
        if text is None:
            continue
        try:
            month_bounds(text)
        except ValueError:
            raise invalid("invalid_month", "月份格式应为 YYYY-MM", "a month YYYY-MM",
                          name) from None
    if first is not None and last is not None and first > last:
        raise invalid("invalid_range", "开始月份晚于结束月份", "`from` is after `to`", "from")
    return first, last


class HonorRollController(Controller):
    path = "/api/v1/honor-rolls"
    tags = ("honor rolls",)

    @get("/", operation_id="listHonorRolls", opt=read(),
         summary="Published honor rolls in scope, newest month first",
         description="The rolls published (frozen) for units within the token's scope, "
                     "newest month first, 1–200 per page (default 50): unit, month, rule set "
                     "and version, `published_at`, `publicity_ends` (last day of the 公示 "
                     "window), `entry_count`, `objection_count`. The entries themselves are "
                     "the reports service's `getHonorRoll`. Filters: `unit_id` (that unit and "
                     "its subtree; 403 outside the scope), `from`/`to` (months YYYY-MM, both "
                     "inclusive). Pass the answer's `next` as `after` for the next page.")
    async def list_honor_rolls(
        self,
        ledger: NamedDependency[Ledger],
        listings: NamedDependency[Listings],
        principal: NamedDependency[Principal],
        unit_id: FromQuery[uuid.UUID | None] = None,
        from_: Annotated[str | None, QueryParameter(name="from", description=FIRST)] = None,
        to: Annotated[str | None, QueryParameter(description=LAST)] = None,
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> HonorRollList:
        first, last = month_range(from_, to)
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        where = HonorRollFilter(units=listed_units(tree, principal, unit_id),
                                first_month=first, last_month=last)
        try:
            items, following = await listings.honor_rolls(principal.tenant_id, where, after,
                                                          limit)
        except InvalidCursor:
            raise invalid_cursor() from None
        return HonorRollList(items=items, next=following)

    @post("/", operation_id="publishHonorRoll", opt=write(roles=ORGANISERS),
          summary="Publish (freeze) a unit's monthly honor roll (organisers)")
    async def publish(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                      data: JSONBody[PublishHonorRoll]) -> Response[Outcome]:
        return command_response(await ledger.honor_rolls.publish(actor, data))

    @post("/{unit_id:str}/{month:str}/objections", operation_id="recordHonorRollObjection",
          opt=write("unit_id", roles=ORGANISERS),
          summary="Record an objection during the publicity (公示) window")
    async def object_to(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                        unit_id: FromPath[uuid.UUID], month: FromPath[str],
                        data: JSONBody[RecordObjection]) -> Response[Outcome]:
        valid_month(month, source="path")
        return command_response(
            await ledger.honor_rolls.record_objection(actor, unit_id, month, data))
