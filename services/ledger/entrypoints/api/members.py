"""Members: register (personal data to the directory), report, transfer, leave, erase."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from contract.access import Principal, read, write
from contract.problems import Refusal, not_found
from ledger.adapters.directory import MemberDirectory
from ledger.adapters.listings import InvalidCursor, Listings, MemberFilter, MemberSummary
from ledger.domain.members import MemberLeaves, RegisterMember, ReportMember, TransferMember
from ledger.entrypoints.api.responses import command_response, invalid_cursor
from ledger.entrypoints.api.scope import listed_units
from ledger.handlers import Actor, Ledger, Outcome


class MemberOut(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    kind: str
    employer: str | None
    registered_on: date
    unit_id: uuid.UUID | None
    reported_on: date | None
    left_on: date | None
    active: bool
    # From the directory; None once erased.
    member_number: str | None
    name: str | None
    erased: bool


class MemberList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[MemberSummary]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


class MemberController(Controller):
    path = "/api/v1/members"
    tags = ("members",)

    @get("/", operation_id="listMembers", opt=read(),
         summary="Members in scope, oldest registration first",
         description="Members reported to a unit within the token's scope (a token for the "
                     "whole tenant also sees members not yet reported anywhere), 1–200 per "
                     "page (default 50). Filters: `member_number` (exact: how another system "
                     "finds a member's id), `q` (part of the name, any case), `unit_id` (that "
                     "unit and its subtree; 403 outside the scope). Pass the answer's `next` "
                     "as `after` for the next page.")
    async def list_members(
        self,
        ledger: NamedDependency[Ledger],
        listings: NamedDependency[Listings],
        principal: NamedDependency[Principal],
        member_number: Annotated[str | None, QueryParameter(max_length=64)] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        unit_id: FromQuery[uuid.UUID | None] = None,
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> MemberList:
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        where = MemberFilter(units=listed_units(tree, principal, unit_id),
                             member_number=member_number, name=(q or "").strip() or None)
        try:
            items, following = await listings.members(principal.tenant_id, where, after, limit)
        except InvalidCursor:
            raise invalid_cursor() from None
        return MemberList(items=items, next=following)

    @post("/", operation_id="registerMember", opt=write(),
          summary="Register a member (name, number, phone, PIN go to the directory)")
    async def register(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       data: JSONBody[RegisterMember]) -> Response[Outcome]:
        return command_response(await ledger.members.register(actor, data))

    @get("/{member_id:str}", operation_id="getMember", opt=read("member_id"),
         summary="A member and their directory entry")
    async def get_member(self, ledger: NamedDependency[Ledger],
                         directory: NamedDependency[MemberDirectory],
                         principal: NamedDependency[Principal],
                         member_id: FromPath[uuid.UUID]) -> MemberOut:
        state = await ledger.state.member(principal.tenant_id, member_id, max_age=0)
        if state is None:
            raise not_found("member_not_found", "成员不存在", "no such member", "member_id")
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        if state.unit_id is not None and not tree.covers(principal.scope_unit_id, state.unit_id):
            raise Refusal("forbidden", "超出此令牌的组织范围", "outside this token's scope",
                          status=403)
        entry = await directory.get(principal.tenant_id, member_id)
        return MemberOut(
            member_id=member_id, kind=state.kind, employer=state.employer,
            registered_on=state.registered_on, unit_id=state.unit_id,
            reported_on=state.reported_on, left_on=state.left_on, active=state.active,
            member_number=entry.member_number if entry else None,
            name=entry.name if entry else None, erased=state.erased,
        )

    @post("/{member_id:str}/report", operation_id="reportMember", opt=write("member_id"),
          summary="The member reports (报到) to a unit")
    async def report(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     member_id: FromPath[uuid.UUID],
                     data: JSONBody[ReportMember]) -> Response[Outcome]:
        return command_response(await ledger.members.change(actor, member_id, data))

    @post("/{member_id:str}/transfer", operation_id="transferMember", opt=write("member_id"),
          summary="Transfer the member to another unit")
    async def transfer(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       member_id: FromPath[uuid.UUID],
                       data: JSONBody[TransferMember]) -> Response[Outcome]:
        return command_response(await ledger.members.change(actor, member_id, data))

    @post("/{member_id:str}/leave", operation_id="memberLeaves",
          opt=write("member_id"), summary="The member leaves")
    async def leave(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    member_id: FromPath[uuid.UUID],
                    data: JSONBody[MemberLeaves]) -> Response[Outcome]:
        return command_response(await ledger.members.change(actor, member_id, data))

    @post("/{member_id:str}/erasure", operation_id="eraseMember",
          opt=write("member_id"),
          summary="Erase the member's personal data; records stay, unnamed")
    async def erase(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    member_id: FromPath[uuid.UUID]) -> Response[Outcome]:
        return command_response(await ledger.members.erase(actor, member_id))
