"""Downloadable upload templates per entity type: CSV, and XLSX with an instructions sheet."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .base import EntitySchema, Field

TEMPLATE_FORMATS = ("csv", "xlsx")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MEDIA_TYPE}

_TYPE_HELP = {
    "string": "Text",
    "email": "E-mail address",
    "phone": "Phone number of 9 to 15 digits; spaces, dashes and a leading + are fine",
    "date": "Date: YYYY-MM-DD, DD/MM/YYYY or 1 Jan 2026 (the day before the month)",
    "integer": "Whole number, e.g. 12 or 1 250",
    "decimal": (
        "Amount with at most two decimals, e.g. 450.00, 450,00 or R 1 234,50 (the column's "
        "values decide whether 1,250 is 1250 or 1.25)"
    ),
    "enum": "One of the accepted values",
    "sa_id": "13-digit South African ID number",
}
_BOLD = Font(bold=True)


def template_filename(schema: EntitySchema, fmt: str) -> str:
    """The download name, e.g. ``mechanics-template.xlsx``."""
    return f"{schema.name}-template.{fmt}"


def field_help(field: Field) -> str:
    """What a column accepts, in words."""
    parts = [_TYPE_HELP[field.type]]
    if field.choices:
        parts.append("accepted values: " + ", ".join(map(field.describe_choice, field.choices)))
    if field.min_value is not None and field.max_value is not None:
        parts.append(f"from {field.min_value:g} to {field.max_value:g}")
    elif field.min_value is not None:
        parts.append(f"at least {field.min_value:g}")
    elif field.max_value is not None:
        parts.append(f"at most {field.max_value:g}")
    if field.type == "string":
        parts.append(f"at most {field.max_length} characters")
    return "; ".join(parts)


def csv_template(schema: EntitySchema) -> bytes:
    """A CSV file: the header labels and one example row (UTF-8 with a BOM, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.label for f in schema.fields])
    writer.writerow([f.example for f in schema.fields])
    return out.getvalue().encode("utf-8-sig")


def xlsx_template(schema: EntitySchema) -> bytes:
    """An XLSX workbook: a data sheet (labels, one example row) and an instructions sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = schema.label[:31]
    sheet.append([f.label for f in schema.fields])
    sheet.append([f.example for f in schema.fields])
    for column, field in enumerate(schema.fields, start=1):
        sheet.cell(row=1, column=column).font = _BOLD
        sheet.column_dimensions[get_column_letter(column)].width = max(len(field.label) + 4, 16)
        sheet.cell(row=2, column=column).number_format = "@"  # keep leading zeros as typed
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("Instructions")
    notes.append(
        [
            f"{schema.label}: one row per record below the header on the first sheet. "
            "Replace the example row with your data. Columns may be in any order."
        ]
    )
    notes.append([])
    notes.append(["Column", "Required", "What it accepts", "Also recognised as", "Example"])
    for field in schema.fields:
        key = " (identifies the record)" if field.name in schema.natural_key else ""
        notes.append(
            [
                field.label,
                ("yes" if field.required else "no") + key,
                field_help(field),
                ", ".join(field.aliases),
                field.example,
            ]
        )
    for cell in notes[3]:
        cell.font = _BOLD
    for letter, width in zip("ABCDE", (22, 28, 60, 40, 24), strict=True):
        notes.column_dimensions[letter].width = width

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_file(schema: EntitySchema, fmt: str) -> bytes:
    """The template of ``schema`` in ``fmt`` (one of ``TEMPLATE_FORMATS``)."""
    return csv_template(schema) if fmt == "csv" else xlsx_template(schema)
