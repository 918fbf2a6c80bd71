"""The appends that skip `catalogue.write` (the one-statement check-in, group commit) trust
`Changes.others()` to say when anything but participant rows must be written: every other
kind of change must make it say so, or a new list model would silently go unwritten."""

from __future__ import annotations

import dataclasses

from ledger.adapters.catalogue import Changes


def test_every_change_but_participants_counts_as_other() -> None:
    for field in dataclasses.fields(Changes):
        changes = Changes()
        value = getattr(changes, field.name)
        # Any one entry, of the container's own kind, makes the change non-empty.
        if isinstance(value, dict):
            value[object()] = {}
        else:
            value.add(object())
        assert changes.others() is (field.name != "participants"), field.name
    assert not Changes().others()
