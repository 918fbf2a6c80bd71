"""Bulk import of historic participation records (CSV or JSON lines).

`rows` parses and checks each row on its own, `plan` checks the rows together against the
domain's rules and turns them into events, `run` loads what the checks need from the
database and appends through `bulk_append`. Only `run` does I/O.
"""
