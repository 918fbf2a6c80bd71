"""The roster's search box: a part of the name or of the member number, any case."""

from __future__ import annotations

import uuid

import pytest

from ledger.adapters.page_queries import Person
from ledger.entrypoints.pages.views import matches

ZHANG = Person(uuid.uuid4(), "张三明", "XL000123")
ERASED = Person(uuid.uuid4(), None, None)


@pytest.mark.parametrize(("person", "query", "found"), [
    (ZHANG, "", True),
    (ZHANG, "三明", True),
    (ZHANG, "xl000", True),
    (ZHANG, "0123", True),
    (ZHANG, "李", False),
    (ERASED, "", True),
    (ERASED, "张", False),
    (None, "张", False),
])
def test_matches(person: Person | None, query: str, found: bool) -> None:
    assert matches(person, query) is found
