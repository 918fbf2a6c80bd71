"""Parsing: CSV (UTF-8, header row) or JSON lines into typed rows, every error kept.

A row is numbered by the line it starts on in the file (the CSV header is line 1), which
is what a spreadsheet or an editor shows the person fixing it.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import msgspec

from contract.bounds import has_controls
from contract.calendar import FIRST_YEAR, LAST_YEAR, SHANGHAI
from contract.events import ActivityCategory, ActivityKind
from ledger.domain.activities import MAX_CAP_MINUTES

Format = Literal["csv", "ndjson"]

REQUIRED = ("activity_ref", "activity_title", "kind", "category", "host_unit_id", "place",
            "starts_at", "ends_at", "member_number", "checked_in_at", "checked_out_at")
OPTIONAL = ("hours_cap_minutes", "minutes", "confirmed_by", "beneficiary")
FIELDS = REQUIRED + OPTIONAL
# The columns that describe the activity: every row of one activity_ref must agree on them.
ACTIVITY_FIELDS = ("activity_title", "kind", "category", "host_unit_id", "place", "starts_at",
                   "ends_at", "hours_cap_minutes", "beneficiary")
KINDS: tuple[str, ...] = get_args(ActivityKind)
CATEGORIES: tuple[str, ...] = get_args(ActivityCategory)
MAX_TEXT = 200


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    field: str | None
    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class ActivityFields:
    title: str
    kind: str
    category: str
    host_unit_id: uuid.UUID
    place: str
    starts_at: datetime
    ends_at: datetime
    hours_cap_minutes: int | None
    beneficiary: str


@dataclass(frozen=True, slots=True)
class Row:
    row: int
    activity_ref: str
    activity: ActivityFields
    member_number: str
    checked_in_at: datetime
    checked_out_at: datetime
    minutes: int | None
    confirmed_by: str | None


def detect_format(name: str | None) -> Format | None:
    """From a content type or a file name; None when neither says."""
    lowered = (name or "").lower()
    if "csv" in lowered:
        return "csv"
    if any(hint in lowered for hint in ("ndjson", "jsonl", "json-lines", "x-json-stream")):
        return "ndjson"
    return None


def records(source: bytes, fmt: Format) -> tuple[list[tuple[int, dict[str, Any]]],
                                                  list[RowError]]:
    """The raw records with their line numbers, and file-level errors (header, encoding)."""
    try:
        # utf-8-sig: spreadsheet programs often start a UTF-8 export with a BOM.
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = source[: error.start].count(b"\n") + 1
        return [], [RowError(row=line, field=None, code="not_utf8",
                             zh="文件须为 UTF-8 编码", en="the file must be UTF-8 encoded")]
    if fmt == "csv":
        return _csv_records(text)
    return _ndjson_records(text)


def _csv_records(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return [], [RowError(row=1, field=None, code="empty", zh="文件为空",
                             en="the file is empty")]
    columns = [name.strip() for name in header]
    errors = [
        RowError(row=1, field=name, code="unknown_column", zh=f"未知的列“{name}”",
                 en=f"unknown column {name!r}")
        for name in columns if name not in FIELDS
    ]
    errors += [
        RowError(row=1, field=name, code="missing_column", zh=f"缺少必填列“{name}”",
                 en=f"required column {name!r} is missing")
        for name in REQUIRED if name not in columns
    ]
    if errors:
        return [], errors
    found: list[tuple[int, dict[str, Any]]] = []
    line = reader.line_num + 1
    for values in reader:
        if any(value.strip() for value in values):
            if len(values) != len(columns):
                errors.append(RowError(
                    row=line, field=None, code="column_count",
                    zh=f"该行有 {len(values)} 列，表头有 {len(columns)} 列",
                    en=f"{len(values)} values for {len(columns)} columns"))
            else:
                found.append((line, dict(zip(columns, values, strict=True))))
        line = reader.line_num + 1
    return found, errors


def _ndjson_records(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    found: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = msgspec.json.decode(raw)
        except (msgspec.DecodeError, RecursionError):  # malformed, or nested too deeply
            value = None
        if not isinstance(value, dict):
            errors.append(RowError(row=line, field=None, code="invalid_json",
                                   zh="该行不是一个 JSON 对象", en="not a JSON object"))
            continue
        unknown = [name for name in value if name not in FIELDS]
        errors += [RowError(row=line, field=name, code="unknown_field",
                            zh=f"未知的字段“{name}”", en=f"unknown field {name!r}")
                   for name in unknown]
        if not unknown:
            found.append((line, value))
    return found, errors


class _Fields:
    """Reads one record's fields, collecting an error per bad field instead of stopping."""

    def __init__(self, line: int, record: dict[str, Any]) -> None:
        self.line = line
        self.record = record
        self.errors: list[RowError] = []

    def fail(self, name: str, code: str, zh: str, en: str) -> None:
        self.errors.append(RowError(row=self.line, field=name, code=code, zh=zh, en=en))

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.record.get(name)
        text = "" if value is None else str(value).strip()
        if not text:
            if required:
                self.fail(name, "required", f"{name} 为必填项", f"{name} is required")
            return None
        if len(text) > MAX_TEXT:
            self.fail(name, "too_long", f"{name} 不超过{MAX_TEXT}字",
                      f"{name}: at most {MAX_TEXT} characters")
            return None
        # One line, as everywhere (contract.bounds).
        if has_controls(text):
            self.fail(name, "control_characters", f"{name} 不能含控制字符（如 NUL）",
                      f"{name} must not contain control characters (such as NUL)")
            return None
        return text

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            self.fail(name, "invalid_choice", f"{name} 须为 {'/'.join(allowed)} 之一",
                      f"{name} must be one of {', '.join(allowed)}")
            return None
        return value

    def uuid(self, name: str) -> uuid.UUID | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.fail(name, "invalid_uuid", f"{name} 不是有效的组织编号（UUID）",
                      f"{name} is not a valid unit id (UUID)")
            return None

    def integer(self, name: str) -> int | None:
        value = self.record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            value = repr(value)
        try:
            number = int(value)
        except ValueError:
            self.fail(name, "invalid_integer", f"{name} 须为整数（分钟）",
                      f"{name} must be a whole number of minutes")
            return None
        if number < 0:
            self.fail(name, "negative", f"{name} 不能为负", f"{name} cannot be negative")
            return None
        if number > MAX_CAP_MINUTES:
            self.fail(name, "too_large", f"{name} 不超过{MAX_CAP_MINUTES}分钟",
                      f"{name}: at most {MAX_CAP_MINUTES} minutes")
            return None
        return number

    def moment(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(name, "invalid_time", f"{name} 须为 ISO 8601 时间，如 2024-03-02T09:00+08:00",
                      f"{name} must be an ISO 8601 time, e.g. 2024-03-02T09:00+08:00")
            return None
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            self.fail(name, "out_of_calendar", f"{name} 的年份须在{FIRST_YEAR}至{LAST_YEAR}之间",
                      f"{name}: years {FIRST_YEAR}–{LAST_YEAR} only")
            return None
        # Local records rarely carry an offset; every time in the ledger is Shanghai's.
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


# (field, code, zh, en): an error found in an activity's columns, before it has a row.
_Found = tuple[str | None, str, str, str]
ActivityCache = dict[tuple[Any, ...], tuple[ActivityFields | None, list[_Found]]]


def _activity_fields(record: dict[str, Any]) -> tuple[ActivityFields | None, list[_Found]]:
    fields = _Fields(0, record)
    title = fields.text("activity_title")
    kind = fields.choice("kind", KINDS)
    category = fields.choice("category", CATEGORIES)
    host = fields.uuid("host_unit_id")
    place = fields.text("place")
    starts_at, ends_at = fields.moment("starts_at"), fields.moment("ends_at")
    cap = fields.integer("hours_cap_minutes")
    beneficiary = fields.text("beneficiary", required=False) or ""
    found = [(e.field, e.code, e.zh, e.en) for e in fields.errors]
    if found:
        return None, found
    assert title and kind and category and host and place and starts_at and ends_at
    return ActivityFields(title, kind, category, host, place, starts_at, ends_at, cap,
                          beneficiary), []


def parse_row(line: int, record: dict[str, Any],
              cache: ActivityCache | None = None) -> tuple[Row | None, list[RowError]]:
    """One record on its own: present, well-formed fields. Rules come later (see plan).

    The activity's columns repeat on each of its rows; `cache` parses them once.
    """
    # With the type: JSON's true must not share a cache entry with 1, nor a list break it.
    key = tuple((type(value), value if isinstance(value, str | int | float | None) else
                 repr(value)) for value in (record.get(name) for name in ACTIVITY_FIELDS))
    known = cache.get(key) if cache is not None else None
    if known is None:
        known = _activity_fields(record)
        if cache is not None:
            cache[key] = known
    activity, found = known
    fields = _Fields(line, record)
    fields.errors += [RowError(row=line, field=f, code=c, zh=zh, en=en) for f, c, zh, en in found]
    ref = fields.text("activity_ref")
    number = fields.text("member_number")
    checked_in_at, checked_out_at = fields.moment("checked_in_at"), fields.moment("checked_out_at")
    minutes = fields.integer("minutes")
    confirmed_by = fields.text("confirmed_by", required=False)
    if checked_in_at and checked_out_at and checked_out_at < checked_in_at:
        fields.fail("checked_out_at", "before_check_in", "签退时间不能早于签到时间",
                    "checked_out_at must not be before checked_in_at")
    if fields.errors:
        fields.errors.sort(key=lambda e: FIELDS.index(e.field) if e.field in FIELDS else 0)
        return None, fields.errors
    assert ref and number and checked_in_at and checked_out_at and activity is not None
    return Row(line, ref, activity, number, checked_in_at, checked_out_at, minutes,
               confirmed_by), []


@dataclass
class Parsed:
    rows: list[Row]
    errors: list[RowError]
    # How many records the file held, and the activity refs of those that failed: an
    # activity is imported whole or not at all, so a bad row spoils its activity.
    records: int
    spoiled_refs: set[str]


def parse(source: bytes, fmt: Format) -> Parsed:
    found, errors = records(source, fmt)
    parsed = Parsed([], errors, len(found), set())
    cache: ActivityCache = {}
    for line, record in found:
        row, row_errors = parse_row(line, record, cache)
        if row is not None:
            parsed.rows.append(row)
        else:
            parsed.errors += row_errors
            parsed.spoiled_refs.add(str(record.get("activity_ref") or "").strip())
    return parsed
