"""The activity's state as people name it, and the unit picker's tree."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from ledger.domain.organisation import OrgTree, Unit
from ledger.entrypoints.pages.views import shown_status, unit_choices

NOW = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)


def test_a_scheduled_activity_is_upcoming_until_it_starts_then_ongoing() -> None:
    # The boundary is the list filter's: starts_from inclusive, starts_before exclusive.
    assert shown_status("scheduled", NOW + timedelta(seconds=1), NOW) == "upcoming"
    assert shown_status("scheduled", NOW, NOW) == "upcoming"
    assert shown_status("scheduled", NOW - timedelta(seconds=1), NOW) == "ongoing"
    assert shown_status("scheduled", NOW - timedelta(days=3), NOW) == "ongoing"
    assert shown_status("closed", NOW + timedelta(days=1), NOW) == "closed"
    assert shown_status("cancelled", NOW - timedelta(days=1), NOW) == "cancelled"


def _tree(*rows: tuple[str, str | None, str, bool]) -> tuple[OrgTree, dict[str, uuid.UUID]]:
    ids = {key: uuid.uuid4() for key, *_ in rows}
    tree = OrgTree({ids[key]: Unit(ids[key], "branch", ids[parent] if parent else None, name,
                                   date(2024, 1, 1), active)
                    for key, parent, name, active in rows})
    return tree, ids


def test_the_unit_picker_is_the_tree_with_the_path_that_tells_namesakes_apart() -> None:
    tree, ids = _tree(("street", None, "东城街道", True),
                      ("community", "street", "兴华南里社区", True),
                      ("b2", "community", "第二支部", True),
                      ("b1", "community", "第一支部", True),
                      ("g1", "b1", "13号楼党小组", True),
                      ("g2", "b2", "13号楼党小组", True),
                      ("gone", "b1", "已撤销小组", False))
    choices = unit_choices(tree, ids["street"])
    assert [(c.unit_id, c.depth) for c in choices] == [
        (ids["street"], 0), (ids["community"], 1), (ids["b1"], 2), (ids["g1"], 3),
        (ids["b2"], 2), (ids["g2"], 3)]
    labels = [c.label for c in choices]
    assert labels[0] == "东城街道" and labels[1] == "\u3000兴华南里社区"
    assert labels[3] == "\u3000\u3000\u300013号楼党小组（兴华南里社区 › 第一支部）"
    assert labels[5] == "\u3000\u3000\u300013号楼党小组（兴华南里社区 › 第二支部）"
    assert len(set(labels)) == len(labels)
    # From a branch down: only its own part of the tree.
    assert [c.label for c in unit_choices(tree, ids["b1"])] == ["第一支部", "\u300013号楼党小组"]
    assert unit_choices(tree, ids["gone"]) == []
