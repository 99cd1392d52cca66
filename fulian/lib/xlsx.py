"""Writing .xlsx sheets with Chinese headers (openpyxl; no Django here)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter


def workbook_bytes(
    sheet_title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    title: str | None = None,
    total_row: Sequence | None = None,
) -> bytes:
    """One sheet: an optional title line, a bold header, the rows, an optional bold total row."""
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = sheet_title[:31]
    if title:
        ws.append([title])
        ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.append(list(headers))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append(list(row))
    if total_row is not None:
        ws.append(list(total_row))
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(header)) * 2 + 4))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def encrypt_workbook(content: bytes, password: str) -> bytes:
    """The .xlsx as an encrypted OOXML package (ECMA-376 agile encryption, AES-256): Excel, WPS and LibreOffice
    ask for the password on opening."""
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(content)).encrypt(password, out)
    return out.getvalue()
