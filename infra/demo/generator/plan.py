"""The district's plan: its tree, members, organisers and dated changes, before any event.

Everything here comes from one seeded `random.Random`, so a seed gives the same district.
The histories in `history.py` are generated from this plan.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from infra.demo.generator import names

DEMO_PASSWORD = "xinluo-demo"
DEMO_PIN = "246810"
FEATURED_NAME = "兴华南里社区"


def new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True)
class Unit:
    unit_id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    name: str
    established: date


@dataclass
class Member:
    member_id: uuid.UUID
    kind: str
    employer: str | None
    registered_on: date
    unit_id: uuid.UUID
    member_number: str
    name: str
    phone: str
    # A stand-in for the hash of the member's phone, as the check-in form records it.
    device: str
    pin: str = DEMO_PIN


@dataclass(frozen=True)
class Organiser:
    organiser_id: uuid.UUID
    unit_id: uuid.UUID
    name: str
    login: str
    password: str = DEMO_PASSWORD


@dataclass
class Community:
    unit: Unit
    street: Unit
    branches: list[Unit]
    groups: dict[uuid.UUID, list[Unit]]
    teams: list[Unit]
    retired_branch: Unit | None
    organiser: Organiser | None = None


# Dated changes to the tree and to members, applied in date order by the history.
@dataclass(frozen=True)
class Transfer:
    member_id: uuid.UUID
    to_unit_id: uuid.UUID


@dataclass(frozen=True)
class Leave:
    member_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class Rename:
    unit_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Split:
    """A new branch beside `branch_id`: some groups move over and half its members follow."""

    branch_id: uuid.UUID
    new_branch: Unit
    moved_group_ids: tuple[uuid.UUID, ...]


Change = Transfer | Leave | Rename | Split


@dataclass
class Plan:
    scale: str
    seed: int
    name: str
    district: Unit
    streets: list[Unit]
    communities: list[Community]
    members: list[Member]
    organisers: list[Organiser]
    start: date  # first day of the activity history
    months: int
    changes: list[tuple[date, Change]] = field(default_factory=list)
    # The community the demo's summary figures are about.
    featured: Community | None = None

    @property
    def units(self) -> list[Unit]:
        units = [self.district, *self.streets]
        for community in self.communities:
            units.append(community.unit)
            for branch in community.branches:
                units.append(branch)
                units.extend(community.groups[branch.unit_id])
            units.extend(community.teams)
        return units


def community_units(community: Community) -> list[uuid.UUID]:
    """The community itself, its teams, branches and building groups."""
    units = [community.unit.unit_id, *(t.unit_id for t in community.teams)]
    for branch in community.branches:
        units.append(branch.unit_id)
        units.extend(g.unit_id for g in community.groups[branch.unit_id])
    return units


@dataclass(frozen=True)
class _CommunityShape:
    name: str
    branch_names: list[str]
    retired_branch: bool
    teams: tuple[str, ...]
    # members to create: in-service, registered, retired, volunteers
    counts: tuple[int, int, int, int]


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


class _Builder:
    def __init__(self, scale: str, seed: int, start: date, months: int) -> None:
        self.rng = random.Random(f"plan:{scale}:{seed}")
        self.scale, self.seed, self.start, self.months = scale, seed, start, months
        self.founded = date(2019, 7, 1)
        self.district = self.unit("district", None, "中共新罗区委")
        self.streets: list[Unit] = []
        self.communities: list[Community] = []
        self.members: list[Member] = []
        self.organisers: list[Organiser] = []
        self.numbers = 0

    @property
    def end(self) -> date:
        year, month = divmod(self.start.month - 1 + self.months, 12)
        return date(self.start.year + year, month + 1, 1) - timedelta(days=1)

    def unit(self, kind: str, parent: Unit | None, name: str) -> Unit:
        established = _day_between(self.rng, self.founded, self.founded + timedelta(days=700))
        if parent is not None:
            established = max(established, parent.established)
        return Unit(new_id(self.rng), kind, parent.unit_id if parent else None, name, established)

    def organiser(self, unit: Unit, login: str, name: str) -> Organiser:
        organiser = Organiser(new_id(self.rng), unit.unit_id, name, login)
        self.organisers.append(organiser)
        return organiser

    def community(self, street: Unit, shape: _CommunityShape, login: str) -> Community:
        rng = self.rng
        unit = self.unit("community", street, shape.name)
        branches = [self.unit("branch", unit, name) for name in shape.branch_names]
        retired = None
        if shape.retired_branch:
            name = shape.name.removesuffix("社区") + "离退休党员党支部"
            retired = self.unit("branch", unit, name)
            branches.append(retired)
        groups = {
            b.unit_id: [self.unit("group", b, f"{n}号楼党小组")
                        for n in sorted(rng.sample(range(1, 40), rng.randint(2, 4)))]
            for b in branches
        }
        teams = [self.unit("team", unit, team) for team in shape.teams]
        community = Community(unit, street, branches, groups, teams, retired)
        community.organiser = self.organiser(unit, login, names.person_name(rng) + "（社区书记）")
        self.communities.append(community)
        self.add_members(community, shape.counts)
        return community

    def add_members(self, community: Community, counts: tuple[int, int, int, int]) -> None:
        rng = self.rng
        working = [b for b in community.branches if b is not community.retired_branch]
        in_service, registered, retired, volunteers = counts
        kinds = (["in_service"] * in_service + ["registered"] * registered
                 + ["retired"] * retired + ["volunteer"] * volunteers)
        for kind in kinds:
            if kind == "volunteer":
                unit = rng.choice(community.teams)
            elif kind == "retired" and community.retired_branch is not None:
                unit = community.retired_branch
            else:
                unit = rng.choice(working)
                if kind == "in_service" and rng.random() < 0.3:
                    unit = rng.choice(community.groups[unit.unit_id])
            self.members.append(self.member(kind, unit))

    def member(self, kind: str, unit: Unit) -> Member:
        rng = self.rng
        self.numbers += 1
        # Most members reported before the history starts; some arrive during it.
        if self.scale == "district" and rng.random() < 0.1:
            registered_on = _day_between(rng, self.start, self.end - timedelta(days=30))
        else:
            registered_on = _day_between(rng, date(2021, 1, 1), self.start - timedelta(days=1))
        return Member(
            member_id=new_id(rng), kind=kind,
            employer=rng.choice(names.EMPLOYERS) if kind == "in_service" else None,
            registered_on=max(registered_on, unit.established), unit_id=unit.unit_id,
            member_number=f"XL{self.numbers:06d}", name=names.person_name(rng),
            phone=names.phone(rng), device=f"{rng.getrandbits(64):016x}",
        )

    def plan_member_changes(
        self, transfer_share: float, leave_share: float,
        within_community_only: frozenset[uuid.UUID],
    ) -> list[tuple[date, Change]]:
        """Transfers between branches (some across communities) and members leaving."""
        rng = self.rng
        community_of = {}
        for community in self.communities:
            for unit in community_units(community):
                community_of[unit] = community
        changes: list[tuple[date, Change]] = []
        for member in self.members:
            if member.kind == "volunteer":
                continue
            first = max(member.registered_on, self.start) + timedelta(days=1)
            last = self.end - timedelta(days=2)
            home = community_of[member.unit_id]
            moved_on = None
            if rng.random() < transfer_share:
                target = home
                if home.unit.unit_id not in within_community_only and rng.random() < 0.3:
                    target = rng.choice(self.communities)
                choices = [b for b in target.branches
                           if b.unit_id != member.unit_id and b is not target.retired_branch]
                if choices:
                    moved_on = _day_between(rng, first, last)
                    changes.append((moved_on, Transfer(member.member_id,
                                                       rng.choice(choices).unit_id)))
            if home.unit.unit_id not in within_community_only and rng.random() < leave_share:
                changes.append((_day_between(rng, moved_on or first, last + timedelta(days=1)),
                                Leave(member.member_id, rng.choice(names.LEAVE_REASONS))))
        return changes

    def split(self, community: Community, on: date) -> tuple[date, Change]:
        branch = community.branches[0]
        new_branch = Unit(new_id(self.rng), "branch", community.unit.unit_id,
                          branch.name.replace("第一", "第二") if "第一" in branch.name
                          else branch.name.removesuffix("党支部") + "第二党支部", on)
        groups = community.groups[branch.unit_id]
        return on, Split(branch.unit_id, new_branch,
                         tuple(g.unit_id for g in groups[len(groups) // 2:]))

    def plan(self, name: str, featured: Community | None) -> Plan:
        return Plan(self.scale, self.seed, name, self.district, self.streets, self.communities,
                    self.members, self.organisers, self.start, self.months, featured=featured)


def demo_plan(seed: int) -> Plan:
    """One street, two communities: 兴华南里 as the sources describe it, and a smaller one."""
    builder = _Builder("demo", seed, date(2026, 8, 1), 3)
    builder.organiser(builder.district, "xinluo", "区委组织部管理员")
    street = builder.unit("street", builder.district, "东城街道党工委")
    builder.streets.append(street)
    builder.organiser(street, "dongcheng", "东城街道党建办")
    featured = builder.community(street, _CommunityShape(
        FEATURED_NAME, ["兴华南里小区第一党支部", "兴华南里小区第二党支部"], True, names.TEAMS,
        (605, 129, 62, 48)), "xinghua")
    second = builder.community(street, _CommunityShape(
        "龙津社区", ["龙津花园第一党支部"], True, names.TEAMS[:3], (180, 40, 30, 20)), "longjin")
    builder.organiser(featured.branches[0], "xinghua-b1", "兴华南里第一支部书记")
    # Members move only inside their community so the featured figures (605) stay true.
    communities = frozenset(c.unit.unit_id for c in builder.communities)
    changes = builder.plan_member_changes(0.03, 0.0, communities)
    changes.append((date(2026, 9, 15), Rename(featured.branches[1].unit_id,
                                              "兴华南里小区红色物业联合党支部")))
    changes.append(builder.split(second, date(2026, 9, 1)))
    plan = builder.plan("新罗区", featured)
    plan.changes = sorted(changes, key=lambda change: change[0])
    return plan


def district_plan(seed: int) -> Plan:
    """新罗区: ~10 streets, ~55 communities, 547 compound branches, ~16,000 in-service."""
    builder = _Builder("district", seed, date(2023, 11, 1), 36)
    rng = builder.rng
    builder.organiser(builder.district, "xinluo", "区委组织部管理员")
    streets = [builder.unit("street", builder.district, f"{n}街道党工委")
               for n in names.STREETS[:10]]
    builder.streets.extend(streets)
    for number, street in enumerate(streets, 1):
        builder.organiser(street, f"jd{number:02d}", street.name.removesuffix("党工委") + "党建办")
    per_street = [5, 6, 5, 6, 5, 6, 5, 6, 5, 6]  # 55 communities
    place_words = rng.sample(names.PLACE_WORDS, len(names.PLACE_WORDS))
    community_names = [place_words.pop() + "社区" for _ in range(sum(per_street))]
    # 547 compound branches spread over the communities (the sources' figure).
    branch_counts = _spread(rng, 547, len(community_names), low=6, high=15)
    in_service = _spread(rng, 16_000, len(community_names), low=150, high=450)
    number = 0
    for street, count in zip(streets, per_street, strict=True):
        for _ in range(count):
            name = community_names[number]
            base = name.removesuffix("社区")
            words = rng.sample(names.PLACE_WORDS, branch_counts[number])
            branch_names = [f"{w}{rng.choice(names.COMPOUND_SUFFIXES)}党支部" for w in words]
            # One branch in ten is a "两新" joint branch of the private firms around.
            branch_names = [n if rng.random() > 0.1 else f"{base}两新组织联合党支部{i}"
                            for i, n in enumerate(branch_names, 1)]
            teams = tuple(rng.sample(names.TEAMS, rng.randint(2, 4)))
            serving = in_service[number]
            counts = (serving, serving // 5, serving // 4, serving // 6)
            number += 1
            # Compound branches are the 547; the retired members' branch comes on top.
            builder.community(street, _CommunityShape(name, branch_names, number % 3 == 0,
                                                      teams, counts), f"sq{number:03d}")
    changes = builder.plan_member_changes(0.04, 0.015, frozenset())
    renamed = builder.communities[7].unit
    changes.append((date(2024, 7, 1), Rename(renamed.unit_id,
                                             renamed.name.removesuffix("社区") + "新村社区")))
    changes.append(builder.split(builder.communities[3], date(2025, 3, 1)))
    plan = builder.plan("新罗区", builder.communities[0])
    plan.changes = sorted(changes, key=lambda change: change[0])
    return plan


def _spread(rng: random.Random, total: int, parts: int, *, low: int, high: int) -> list[int]:
    """`parts` integers in [low, high] summing to `total`."""
    values = [rng.randint(low, high) for _ in range(parts)]
    while (difference := total - sum(values)) != 0:
        i = rng.randrange(parts)
        step = 1 if difference > 0 else -1
        if low <= values[i] + step <= high:
            values[i] += step
    return values


def build(scale: str, seed: int = 1) -> Plan:
    if scale == "demo":
        return demo_plan(seed)
    if scale == "district":
        return district_plan(seed)
    raise ValueError(f"unknown scale {scale!r}: demo or district")
