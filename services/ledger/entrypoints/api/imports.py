"""Bulk import of historic participation records: CSV or JSON lines in, a summary out."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException

from contract.access import ORGANISERS, write
from contract.problems import PROBLEM_BASE, Refusal
from ledger.config import Settings
from ledger.handlers import Actor, Ledger
from ledger.imports.rows import FIELDS, detect_format
from ledger.imports.run import ImportSummary, import_records

# The JSON API's body limit is small; a year of a district's records is not.
MAX_IMPORT_BYTES: int = next(
    f.default for f in msgspec.structs.fields(Settings) if f.name == "max_import_bytes")

_DESCRIPTION = (
    "Body: `text/csv` (UTF-8, header row) or `application/x-ndjson`, one row per member per "
    f"activity, fields: {', '.join(FIELDS)}. Times are ISO 8601; without an offset they are "
    "Asia/Shanghai. Every row is checked; any error and nothing is appended (422 with the "
    "errors: row = line in the file, field, zh/en), unless only_valid. Importing the same "
    "records again appends nothing."
)


def _invalid(summary: ImportSummary) -> ProblemDetailsException:
    first = summary.errors[0]
    return ProblemDetailsException(
        status_code=422, type_=PROBLEM_BASE + "import_invalid",
        title=f"{summary.error_count} invalid rows or fields; nothing was imported",
        detail=f"导入文件有 {summary.error_count} 处错误，未导入任何记录；"
               f"第一处：第 {first.row} 行 {first.field or ''} {first.zh}",
        extra={
            "code": "import_invalid", "field": first.field or "body",
            "error_count": summary.error_count,
            # At most the first MAX_ERRORS (see error_count for the total).
            "errors": [{"row": e.row, "field": e.field, "code": e.code, "zh": e.zh,
                        "en": e.en} for e in summary.errors],
            "invalid_params": [{"name": e.field or "body", "reason": e.zh, "row": e.row}
                               for e in summary.errors],
            "summary": {"rows": summary.rows, "activities": summary.activities},
        },
    )


class ImportController(Controller):
    path = "/api/v1/imports"
    tags = ("imports",)

    @post("/", operation_id="importRecords",
          opt=write(roles=ORGANISERS), request_max_body_size=MAX_IMPORT_BYTES,
          summary="Import historic participation records (organisers)",
          description=_DESCRIPTION)
    async def import_records(
        self, request: Request, state: State, ledger: NamedDependency[Ledger],
        actor: NamedDependency[Actor],
        dry_run: Annotated[FromQuery[bool], QueryParameter(
            description="Check every row, append nothing")] = False,
        only_valid: Annotated[FromQuery[bool], QueryParameter(
            description="Append the activities whose rows are all valid; report the rest"
        )] = False,
    ) -> Response[ImportSummary]:
        fmt = detect_format(request.headers.get("content-type"))
        if fmt is None:
            raise Refusal("unsupported_media_type", "请上传 CSV（text/csv）或 JSON Lines"
                          "（application/x-ndjson）", "send text/csv or application/x-ndjson",
                          field="content-type", status=415)
        summary = await import_records(
            state.pool, actor, await request.body(), fmt, now=ledger.clock(),
            grace=ledger.checkin_grace, dry_run=dry_run, only_valid=only_valid)
        if summary.error_count and not only_valid:
            raise _invalid(summary)
        return Response(summary, status_code=201 if summary.events_appended else 200)
