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
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reports.domain.tables import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (hence XLSX) cannot hold at all; text recorded before the ledger refused
# control characters may still carry some.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What a sheet's name may not hold (Excel refuses the workbook otherwise).
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def cell(value: Any) -> Any:
    """A table value as a spreadsheet cell that is never a formula (numbers stay numbers)."""
    if not isinstance(value, str):
        return value
    value = _NOT_IN_XML.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(h) for h in table.headers])
    writer.writerows([cell(v) for v in row] for row in table.rows)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table, sheet_name: str, title: str) -> bytes:
    """Row 1 the title (organisation and period) across the table, row 2 the headings,
    frozen with it so they stay in view while scrolling; columns as wide as the table says."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _SHEET_NAME.sub("", sheet_name)[:31] or "Sheet1"
    sheet.append([cell(title)])
    sheet["A1"].font = Font(bold=True, size=14)
    if len(table.headers) > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1,
                          end_column=len(table.headers))
    sheet.append([cell(h) for h in table.headers])
    for column in sheet[2]:
        column.font = Font(bold=True)
    for row in table.rows:
        sheet.append([cell(v) for v in row])
    for index, width in enumerate(table.widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
