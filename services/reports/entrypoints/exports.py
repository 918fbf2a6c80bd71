"""CSV (UTF-8 with BOM, so Excel opens Chinese text right) and XLSX renderings of a table.

Both write every cell through `cell`: a spreadsheet runs a text that starts with `=`, `+`,
`-` or `@` (or tab or CR, which some programs skip before looking) as a formula, and
names, titles and employers come from people — `=HYPERLINK("http://…","点我")` as a
member's name must stay text. Such a cell gets a leading `'` (OWASP's advice for CSV).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook

from reports.domain.tables import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (hence XLSX) cannot hold at all; text recorded before the ledger refused
# control characters may still carry some.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell(value: Any) -> Any:
    """A table value as a spreadsheet cell that is never a formula (numbers stay numbers)."""
    if not isinstance(value, str):
        return value
    value = _NOT_IN_XML.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(table: Table) -> bytes:
    headers, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(h) for h in headers])
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table, title: str) -> bytes:
    headers, rows = table
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append([cell(h) for h in headers])
    for row in rows:
        sheet.append([cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
