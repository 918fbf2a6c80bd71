"""The organisation tree: kinds nest district → street → community → branch → group, teams
sit under a community or a branch, and every change is effective-dated."""

from __future__ import annotations

from datetime import date

import pytest

from contract.events import UnitDissolved, UnitEstablished, UnitMerged, UnitMoved, UnitRenamed
from ledger.domain.organisation import (
    DissolveUnit,
    EstablishUnit,
    MergeUnit,
    MoveUnit,
    OrgTree,
    RenameUnit,
    dissolve,
    establish,
    merge,
    move,
    rename,
)

from .builders import FOUNDED, Org, new_id, refused

LATER = date(2026, 3, 1)


@pytest.fixture
def org() -> Org:
    return Org()


def test_a_district_is_established_at_the_top_of_the_tree() -> None:
    unit_id = new_id()
    events = establish(OrgTree(), EstablishUnit(kind="district", name=" 新罗区委 ",
                                                effective=FOUNDED), unit_id)
    assert events == [UnitEstablished(unit_id=unit_id, kind="district", parent_id=None,
                                      name="新罗区委", effective=FOUNDED)]


@pytest.mark.parametrize(("kind", "parent"), [
    ("street", "district"), ("community", "street"), ("branch", "community"),
    ("group", "branch"), ("team", "community"), ("team", "branch"),
])
def test_each_kind_is_established_under_the_kind_above_it(org: Org, kind: str,
                                                            parent: str) -> None:
    unit_id = new_id()
    parent_id = getattr(org, parent)
    events = establish(org.tree, EstablishUnit(kind=kind, parent_id=parent_id,  # type: ignore[arg-type]
                                               name="新组织", effective=LATER), unit_id)
    assert events == [UnitEstablished(unit_id=unit_id, kind=kind, parent_id=parent_id,  # type: ignore[arg-type]
                                      name="新组织", effective=LATER)]


@pytest.mark.parametrize(("kind", "parent"), [
    ("district", "district"), ("street", "community"), ("community", "district"),
    ("branch", "street"), ("group", "community"), ("group", "team"),
    ("team", "street"), ("team", "group"), ("team", "team"),
])
def test_a_unit_cannot_skip_or_invert_a_level(org: Org, kind: str, parent: str) -> None:
    with refused("invalid_parent", field="parent_id", status=422):
        establish(org.tree, EstablishUnit(kind=kind, parent_id=getattr(org, parent),  # type: ignore[arg-type]
                                          name="新组织", effective=LATER), new_id())


@pytest.mark.parametrize("kind", ["street", "community", "branch", "group", "team"])
def test_only_a_district_may_have_no_parent(kind: str) -> None:
    with refused("parent_required", field="parent_id", status=422):
        establish(OrgTree(), EstablishUnit(kind=kind, name="孤立组织", effective=LATER),  # type: ignore[arg-type]
                  new_id())


def test_the_parent_must_exist(org: Org) -> None:
    with refused("unit_not_found", field="parent_id", status=404):
        establish(org.tree, EstablishUnit(kind="group", parent_id=new_id(), name="4号楼",
                                          effective=LATER), new_id())


def test_nothing_is_established_under_a_dissolved_unit(org: Org) -> None:
    org.tree.apply(UnitDissolved(unit_id=org.other_branch, effective=LATER))
    with refused("unit_inactive", field="parent_id"):
        establish(org.tree, EstablishUnit(kind="group", parent_id=org.other_branch,
                                          name="4号楼", effective=LATER), new_id())


def test_a_unit_id_is_established_once(org: Org) -> None:
    with refused("unit_exists", field="unit_id"):
        establish(org.tree, EstablishUnit(kind="group", parent_id=org.branch, name="x",
                                          effective=LATER), org.group)


@pytest.mark.parametrize("name", ["", "   ", "名" * 101])
def test_a_name_has_1_to_100_characters(org: Org, name: str) -> None:
    with refused("invalid_name", field="name", status=422):
        establish(org.tree, EstablishUnit(kind="group", parent_id=org.branch, name=name,
                                          effective=LATER), new_id())


def test_a_child_cannot_be_established_before_its_parent(org: Org) -> None:
    with refused("before_parent_established", field="effective", status=422):
        establish(org.tree, EstablishUnit(kind="group", parent_id=org.branch, name="4号楼",
                                          effective=date(2019, 12, 31)), new_id())


# --- rename ------------------------------------------------------------------------------


def test_a_unit_is_renamed_from_a_date(org: Org) -> None:
    assert rename(org.tree, org.branch, RenameUnit(name=" 一号院联合党支部 ", effective=LATER)) == [
        UnitRenamed(unit_id=org.branch, name="一号院联合党支部", effective=LATER)]


def test_renaming_to_the_same_name_is_refused(org: Org) -> None:
    with refused("unchanged", field="name"):
        rename(org.tree, org.branch, RenameUnit(name="一号院党支部", effective=LATER))


def test_a_rename_cannot_take_effect_before_the_unit_existed(org: Org) -> None:
    with refused("before_established", field="effective", status=422):
        rename(org.tree, org.branch, RenameUnit(name="新名", effective=date(2019, 1, 1)))


def test_an_unknown_unit_cannot_be_renamed(org: Org) -> None:
    with refused("unit_not_found", field="unit_id", status=404):
        rename(org.tree, new_id(), RenameUnit(name="新名", effective=LATER))


def test_a_merged_unit_cannot_be_renamed(org: Org) -> None:
    org.tree.apply(UnitMerged(unit_id=org.other_branch, into_unit_id=org.branch,
                              effective=LATER))
    with refused("unit_inactive", field="unit_id"):
        rename(org.tree, org.other_branch, RenameUnit(name="新名", effective=LATER))


# --- move --------------------------------------------------------------------------------


def test_a_branch_moves_to_another_community(org: Org) -> None:
    events = move(org.tree, org.branch, MoveUnit(parent_id=org.other_community,
                                                 effective=LATER))
    assert events == [UnitMoved(unit_id=org.branch, parent_id=org.other_community,
                                effective=LATER)]
    org.tree.apply(events[0])
    # The group below the branch now rolls up to the other community.
    assert org.tree.ancestors(org.group) == [org.group, org.branch, org.other_community,
                                             org.street, org.district]


def test_a_team_may_move_from_a_community_to_a_branch(org: Org) -> None:
    assert move(org.tree, org.team, MoveUnit(parent_id=org.branch, effective=LATER)) == [
        UnitMoved(unit_id=org.team, parent_id=org.branch, effective=LATER)]


def test_a_move_keeps_the_kind_rules(org: Org) -> None:
    with refused("invalid_parent", field="parent_id", status=422):
        move(org.tree, org.group, MoveUnit(parent_id=org.community, effective=LATER))


@pytest.mark.parametrize("target", ["branch", "group"])
def test_a_unit_cannot_move_under_itself_or_its_descendants(org: Org, target: str) -> None:
    with refused("cycle", field="parent_id", status=422):
        move(org.tree, org.branch, MoveUnit(parent_id=getattr(org, target), effective=LATER))


def test_moving_to_the_current_parent_is_refused(org: Org) -> None:
    with refused("unchanged", field="parent_id"):
        move(org.tree, org.branch, MoveUnit(parent_id=org.community, effective=LATER))


def test_a_move_cannot_take_effect_before_the_unit_existed(org: Org) -> None:
    with refused("before_established", field="effective"):
        move(org.tree, org.branch, MoveUnit(parent_id=org.other_community,
                                            effective=date(2019, 6, 1)))


def test_a_move_cannot_take_effect_before_the_new_parent_existed(org: Org) -> None:
    young = org.add("community", org.street, "新建社区", effective=LATER)
    with refused("before_parent_established", field="effective", status=422):
        move(org.tree, org.branch, MoveUnit(parent_id=young, effective=date(2026, 2, 1)))


def test_nothing_moves_under_a_dissolved_unit(org: Org) -> None:
    org.tree.apply(UnitDissolved(unit_id=org.other_branch, effective=LATER))
    with refused("unit_inactive", field="parent_id"):
        move(org.tree, org.group, MoveUnit(parent_id=org.other_branch, effective=LATER))


# --- merge -------------------------------------------------------------------------------


def test_a_branch_merges_into_another_branch(org: Org) -> None:
    events = merge(org.tree, org.other_branch, MergeUnit(into_unit_id=org.branch,
                                                          effective=LATER))
    assert events == [UnitMerged(unit_id=org.other_branch, into_unit_id=org.branch,
                                 effective=LATER)]
    org.tree.apply(events[0])
    assert not org.tree.units[org.other_branch].active


def test_a_unit_merges_only_into_a_unit_of_the_same_kind(org: Org) -> None:
    with refused("invalid_merge", field="into_unit_id", status=422):
        merge(org.tree, org.other_branch, MergeUnit(into_unit_id=org.community,
                                                     effective=LATER))


def test_a_unit_cannot_merge_into_itself(org: Org) -> None:
    with refused("invalid_merge", field="into_unit_id"):
        merge(org.tree, org.branch, MergeUnit(into_unit_id=org.branch, effective=LATER))


def test_a_unit_with_children_cannot_merge_until_they_are_moved(org: Org) -> None:
    with refused("has_children"):
        merge(org.tree, org.branch, MergeUnit(into_unit_id=org.other_branch, effective=LATER))


def test_a_merge_cannot_take_effect_before_the_target_existed(org: Org) -> None:
    young = org.add("branch", org.community, "新建支部", effective=LATER)
    with refused("before_target_established", field="effective", status=422):
        merge(org.tree, org.other_branch, MergeUnit(into_unit_id=young,
                                                     effective=date(2026, 2, 1)))


def test_nothing_merges_into_a_dissolved_unit(org: Org) -> None:
    spare = org.add("branch", org.community, "二号院党支部")
    org.tree.apply(UnitDissolved(unit_id=org.other_branch, effective=LATER))
    with refused("unit_inactive", field="into_unit_id"):
        merge(org.tree, spare, MergeUnit(into_unit_id=org.other_branch, effective=LATER))


# --- dissolve ----------------------------------------------------------------------------


def test_a_leaf_unit_is_dissolved(org: Org) -> None:
    assert dissolve(org.tree, org.group, DissolveUnit(effective=LATER)) == [
        UnitDissolved(unit_id=org.group, effective=LATER)]


def test_a_unit_with_active_children_cannot_be_dissolved(org: Org) -> None:
    with refused("has_children"):
        dissolve(org.tree, org.branch, DissolveUnit(effective=LATER))


def test_a_unit_whose_children_are_gone_can_be_dissolved(org: Org) -> None:
    org.tree.apply(UnitDissolved(unit_id=org.group, effective=LATER))
    assert dissolve(org.tree, org.branch, DissolveUnit(effective=LATER)) == [
        UnitDissolved(unit_id=org.branch, effective=LATER)]


def test_a_unit_is_dissolved_only_once(org: Org) -> None:
    org.tree.apply(UnitDissolved(unit_id=org.group, effective=LATER))
    with refused("unit_inactive", field="unit_id"):
        dissolve(org.tree, org.group, DissolveUnit(effective=LATER))


def test_a_dissolution_cannot_take_effect_before_the_unit_existed(org: Org) -> None:
    with refused("before_established", field="effective"):
        dissolve(org.tree, org.group, DissolveUnit(effective=date(2019, 1, 1)))


# --- scope -------------------------------------------------------------------------------


def test_a_scope_covers_its_own_unit_and_everything_below_it(org: Org) -> None:
    assert org.tree.covers(org.branch, org.branch)
    assert org.tree.covers(org.community, org.group)
    assert org.tree.covers(org.district, org.other_branch)
    assert org.tree.covers(None, org.group)
    assert not org.tree.covers(org.group, org.branch)
    assert not org.tree.covers(org.other_community, org.branch)
    assert not org.tree.covers(org.team, org.branch)
