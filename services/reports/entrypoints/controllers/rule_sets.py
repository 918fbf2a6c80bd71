"""Named, versioned honor-roll rule sets: list them, add a new version."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from contract.access import Principal, read, write
from contract.bounds import integer, line
from contract.vocabulary import ACTIVITY_KINDS
from reports.adapters import honor_roll_store
from reports.domain.honor_roll_rules import MAX_TOP_N, RuleSet, TieBreak, check_rule_set
from reports.entrypoints.problems import invalid


class NewRuleSet(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: line(50)
    # Up to every minute of a month (31 days).
    min_minutes: integer(0, 31 * 24 * 60)
    top_n: integer(1, MAX_TOP_N)
    tie_break: Annotated[list[TieBreak], msgspec.Meta(max_length=4)]
    kinds: Annotated[list[line(20)], msgspec.Meta(max_length=len(ACTIVITY_KINDS))]


class RuleSetList(msgspec.Struct, frozen=True, kw_only=True):
    rule_sets: list[RuleSet]


class RuleSetController(Controller):
    path = "/api/v1/rule-sets"
    tags = ("honor rolls",)

    @get("/", operation_id="listRuleSets", opt=read(), summary="Every rule set and version")
    async def list_rule_sets(self, pool: NamedDependency[asyncpg.Pool],
                             principal: NamedDependency[Principal]) -> RuleSetList:
        async with pool.acquire() as connection:
            return RuleSetList(
                rule_sets=await honor_roll_store.rule_sets(connection, principal.tenant_id))

    @post("/", operation_id="addRuleSetVersion", opt=write(tenant_wide=True),
          # Rule sets apply to the whole tenant: only a tenant-wide writer sets them.
          summary="Add a rule set, or its next version")
    async def add(self, pool: NamedDependency[asyncpg.Pool],
                  principal: NamedDependency[Principal],
                  data: JSONBody[NewRuleSet]) -> RuleSet:
        rules = RuleSet(name=data.name.strip(), version=0, min_minutes=data.min_minutes,
                        top_n=data.top_n, tie_break=data.tie_break, kinds=data.kinds)
        if problems := check_rule_set(rules):
            field, reason = problems[0]
            raise invalid(field, reason, f"invalid {field}")
        async with pool.acquire() as connection:
            return await honor_roll_store.add_rule_set(connection, principal.tenant_id, rules,
                                                       principal.actor)
