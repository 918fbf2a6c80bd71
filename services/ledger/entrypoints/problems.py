"""The ledger's own exceptions as RFC 9457 problem details (the rest: contract.problems)."""

from __future__ import annotations

from litestar.plugins.problem_details import ProblemDetailsException

from contract.problems import PROBLEM_BASE, Converter
from ledger.adapters.event_store import EventIdConflict, WrongExpectedVersion
from ledger.handlers import TooBusy


def from_wrong_version(error: WrongExpectedVersion) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=409, type_=PROBLEM_BASE + "wrong_expected_version",
        title="The stream has moved on", detail="数据已被他人修改，请刷新后重试",
        extra={"code": "wrong_expected_version", "stream_id": error.stream_id,
               "expected_version": error.expected, "current_version": error.current},
    )


def from_event_id_conflict(error: EventIdConflict) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=409, type_=PROBLEM_BASE + "command_id_reused",
        title="This command id was already used for a different command",
        detail="该请求编号已用于另一项不同的操作", extra={"code": "command_id_reused",
                                          "field": "command_id",
                                          "event_id": str(error.event_id)},
    )


def from_too_busy(_error: TooBusy) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=503, type_=PROBLEM_BASE + "busy", title="Busy: retry with the same command_id",
        detail="系统繁忙，请稍后用同一请求编号重试", headers={"Retry-After": "1"},
        extra={"code": "busy"},
    )


PROBLEMS: dict[type[Exception], Converter] = {
    WrongExpectedVersion: from_wrong_version,
    EventIdConflict: from_event_id_conflict,
    TooBusy: from_too_busy,
}
