"""The shared rules for input (contract.bounds, contract.door) and for errors, without a
database: the constrained types as msgspec decodes them, the text rule the decisions
apply, the problem each failure answers, and the export cells."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.testing import AsyncTestClient

from contract import door
from contract.bounds import (
    INT4_MAX,
    clean,
    has_controls,
    integer,
    line,
    request_id,
    text,
)
from contract.calendar import in_calendar, valid_month, valid_quarter
from contract.problems import Refusal
from reports.entrypoints.exports import cell


class Sample(msgspec.Struct, forbid_unknown_fields=True):
    name: line(5) = "x"
    reason: text(20) = "x"
    count: integer(0, 10) = 0
    tags: Annotated[list[line(3)], msgspec.Meta(max_length=2)] = []


def decode(**fields: Any) -> Sample:
    return msgspec.json.decode(msgspec.json.encode(fields), type=Sample)


@pytest.mark.parametrize("value", ["a\x00b", "a\x01", "\x1f", "a\x7f", "a\x85b", "a\x9f",
                                   "a\nb", "a\tb", "a\rb", "ab\n"])
def test_a_line_holds_no_control_character(value: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="matching regex"):
        decode(name=value)
    assert has_controls(value)
    with pytest.raises(Refusal) as refused:
        clean(value, "name")
    assert (refused.value.code, refused.value.field, refused.value.status) == \
        ("control_characters", "name", 422)


@pytest.mark.parametrize("value", ["张三明", "O'Bo", "a b", "", "\u00a0x", "①②", "😀"])
def test_a_line_holds_any_other_text(value: str) -> None:
    assert decode(name=value).name == value
    assert not has_controls(value)


def test_free_text_may_span_lines_but_holds_no_other_control_character() -> None:
    assert decode(reason="第一行\r\n第二行\t完").reason == "第一行\r\n第二行\t完"
    assert clean(" 两行\n说明 ", "reason", multiline=True) == "两行\n说明"
    for value in ("a\x00", "a\x0b", "a\x0c", "a\x1b[31m", "a\x7f", "a\x85"):
        with pytest.raises(msgspec.ValidationError):
            decode(reason=value)
        assert has_controls(value, multiline=True)


def test_lengths_numbers_and_lists_are_bounded() -> None:
    with pytest.raises(msgspec.ValidationError, match="length <= 5"):
        decode(name="六个字符六个")
    with pytest.raises(msgspec.ValidationError, match="<= 10"):
        decode(count=11)
    with pytest.raises(msgspec.ValidationError, match=">= 0"):
        decode(count=-1)
    with pytest.raises(msgspec.ValidationError, match="length <= 2"):
        decode(tags=["a", "b", "c"])
    with pytest.raises(msgspec.ValidationError, match="length <= 3"):
        decode(tags=["abcd"])
    assert decode(count=10, tags=["abc", "d"]) == Sample(count=10, tags=["abc", "d"])
    assert msgspec.json.decode(b"2147483647", type=integer(1, INT4_MAX)) == INT4_MAX


def test_request_ids_are_visible_ascii_up_to_128() -> None:
    assert request_id(None, "X-Request-Id") is None
    assert request_id("a" * 128, "X-Request-Id") == "a" * 128
    assert request_id("req-1/2:3", "X-Request-Id") == "req-1/2:3"
    for refused in ("", "a" * 129, "a b", "a\x00", "请求"):
        with pytest.raises(Refusal) as raised:
            request_id(refused, "X-Request-Id")
        assert (raised.value.code, raised.value.field, raised.value.source) == \
            ("invalid_header", "X-Request-Id", "header")


def test_months_quarters_and_dates_stay_within_the_calendar() -> None:
    assert valid_month("2026-03") == "2026-03"
    assert valid_quarter("2026Q1") == "2026Q1" and valid_quarter("2026-Q4") == "2026-Q4"
    for month in ("0000-01", "9999-12", "1948-12", "2026-13", "2026-3", "2026-03\n", ""):
        with pytest.raises(Refusal) as raised:
            valid_month(month, source="query")
        assert (raised.value.code, raised.value.field, raised.value.source) == \
            ("invalid_month", "month", "query")
    for quarter in ("0000Q1", "2026Q5", "2026Q1\n"):
        with pytest.raises(Refusal):
            valid_quarter(quarter)
    assert in_calendar(date(1949, 1, 1), "d") == date(1949, 1, 1)
    for day in (date(1, 1, 1), date(1948, 12, 31), date(9999, 12, 31)):
        with pytest.raises(Refusal) as raised:
            in_calendar(day, "effective")
        assert raised.value.code == "out_of_calendar"


@pytest.mark.parametrize(("value", "expected"), [
    ('=HYPERLINK("http://evil.example","点我")', '\'=HYPERLINK("http://evil.example","点我")'),
    ("+86 138", "'+86 138"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("张*明", "张*明"), ("a=b", "a=b"), ("", ""),
    ("a\x00b\x1f", "ab"), (-5, -5), (12.5, 12.5), (None, None),
])
def test_export_cells_are_never_formulas(value: object, expected: object) -> None:
    assert cell(value) == expected


# --- the door and the error handlers, on a minimal app -----------------------------------


class Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    minutes: integer(0, 1440)
    title: line(10) = "t"


@post("/strict")
async def strict(data: JSONBody[Body]) -> dict[str, int]:
    return {"minutes": data.minutes}


@get("/text/{value:str}")
async def echo(value: FromPath[str], q: FromQuery[str] = "") -> str:
    return value + q


@get("/fail/{kind:str}")
async def fail(kind: FromPath[str]) -> None:
    raise {"bug": RuntimeError("a bug"),
           "refused": ConnectionRefusedError(111, "Connection refused"),
           "starting": asyncpg.CannotConnectNowError("the database system is starting up"),
           "lost": asyncpg.ConnectionDoesNotExistError("connection was closed"),
           "closed": asyncpg.InterfaceError("pool is closed"),
           "unchecked": asyncpg.DataError("value out of int32 range")}[kind]


@pytest.fixture
async def client():
    app = Litestar([strict, echo, fail], exception_handlers=door.handlers({}),
                   before_request=door.at_the_door)
    async with AsyncTestClient(app) as client:
        yield client


async def test_bodies_are_decoded_strictly(client) -> None:
    assert (await client.post("/strict", json={"minutes": 59})).json() == {"minutes": 59}
    for body, status, code, field in [
        ({"minutes": "59"}, 422, "invalid_value", "minutes"),
        ({"minutes": 59.0}, 422, "invalid_value", "minutes"),
        ({"minutes": True}, 422, "invalid_value", "minutes"),
        ({"minutes": 1441}, 422, "invalid_value", "minutes"),
        ({"minutes": 1, "title": "a\x00"}, 422, "control_characters", "title"),
        ({"minutes": 1, "colour": "red"}, 400, "invalid_request", "colour"),
        ({"title": "x"}, 400, "invalid_request", "minutes"),
        ([1], 400, "invalid_request", "body"),
    ]:
        response = await client.post("/strict", json=body)
        problem = response.json()
        assert (response.status_code, problem["code"], problem["field"]) == \
            (status, code, field), body
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["invalid_params"][0]["name"] == field
    deep = await client.post("/strict", content=b'{"minutes":' + b"[" * 5000 + b"]" * 5000
                             + b"}", headers={"content-type": "application/json"})
    assert deep.status_code == 422 and deep.json()["field"] == "minutes"
    malformed = await client.post("/strict", content=b'{"minutes":',
                                  headers={"content-type": "application/json"})
    assert (malformed.status_code, malformed.json()["code"]) == (400, "invalid_request")


async def test_query_and_path_parameters_hold_no_control_character(client) -> None:
    assert (await client.get("/text/ab?q=cd")).text == "abcd"
    for path, field, where in [("/text/a%00b", "value", "path"), ("/text/ab?q=%01", "q", "query"),
                               ("/text/ab?q=ok&q=a%0A", "q", "query")]:
        problem = (await client.get(path)).json()
        assert (problem["status"], problem["code"], problem["field"]) == \
            (422, "control_characters", field)
        assert problem["invalid_params"][0]["in"] == where


async def test_routing_errors_have_stable_codes(client) -> None:
    for method, path, status, code in [("GET", "/nowhere", 404, "not_found"),
                                       ("DELETE", "/strict", 405, "method_not_allowed")]:
        response = await client.request(method, path)
        assert (response.status_code, response.json()["code"]) == (status, code)
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_unreachable_database_is_503_and_every_5xx_is_logged_with_the_request_id(
        client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="problems")
    for kind in ("refused", "starting", "lost", "closed"):
        response = await client.get(f"/fail/{kind}", headers={"X-Request-Id": f"req-{kind}"})
        assert response.status_code == 503, kind
        assert response.headers["retry-after"] == "5"
        problem = response.json()
        assert (problem["code"], problem["request_id"]) == ("database_unavailable",
                                                            f"req-{kind}")
        assert any(f"req-{kind}" in record.getMessage() for record in caplog.records)
    bug = await client.get("/fail/bug", headers={"X-Request-Id": "x" * 500})
    assert (bug.status_code, bug.json()["code"]) == (500, "internal_error")
    # An unusable request id is not echoed into the log: one is made up instead.
    made_up = bug.json()["request_id"]
    assert len(made_up) == 32 and "x" * 500 not in caplog.text
    logged = [r for r in caplog.records if made_up in r.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info
    # A value the database refused is the door's gap, not the client's luck: 422, logged.
    unchecked = await client.get("/fail/unchecked")
    assert (unchecked.status_code, unchecked.json()["code"]) == (422, "invalid_value")
    assert unchecked.json()["request_id"] in caplog.text
