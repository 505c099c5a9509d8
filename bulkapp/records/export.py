"""Exports of a records view (its search, filters and sort) as CSV or XLSX.

The header row is the fields' labels, as the upload templates have them. Text that a
spreadsheet would run as a formula (starting with ``= + - @``, a tab or a carriage return)
is written with a leading apostrophe (``escape_cell``, as the error report does), in CSV and
XLSX alike; numbers and dates are written as such. A CSV is UTF-8 with a byte-order mark, so
that Excel reads its accents. An XLSX sheet holds at most ``XLSX_MAX_RECORDS`` records.

Small views are streamed by the web (``csv_text``, ``write_xlsx``); larger ones are written by
a worker (``run_export``) into the file store and downloaded from the export's page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import RowMapping, select

from .. import audit
from ..entities import EntitySchema, get_entity
from ..extensions import db
from ..ingest.report import escape_cell
from ..models import RecordExport, User, utcnow
from ..storage import REPORTS, configured_store, delete_stored
from . import RecordsError
from .query import count_up_to, iter_records
from .view import RecordView, parse_view

FORMATS = ("csv", "xlsx")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MEDIA_TYPE}
XLSX_MAX_RECORDS = 1_048_575  # a sheet's rows, less the header
BATCH = 2000
ALL = 10**12  # more records than any view holds: count them all

Progress = Callable[[int], None]


def _cell(value: Any) -> Any:
    """A stored value as a cell: text escaped, numbers and dates as they are."""
    if value is None or isinstance(value, int | Decimal | date):
        return value
    return escape_cell(value)


def header(schema: EntitySchema) -> list[str]:
    """The export's first row: the fields' labels."""
    return [escape_cell(f.label) for f in schema.fields]


def cells(schema: EntitySchema, row: RowMapping) -> list[Any]:
    """One record as a row of cells."""
    return [_cell(row[f.name]) for f in schema.fields]


def _batches(view: RecordView) -> Iterator[list[RowMapping]]:
    batch: list[RowMapping] = []
    for row in iter_records(view, BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_text(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def csv_text(view: RecordView, progress: Progress | None = None) -> Iterator[str]:
    """The CSV of ``view``, a batch of records at a time (the first piece: BOM and header)."""
    yield "\ufeff" + _csv_text([header(view.schema)])
    written = 0
    for batch in _batches(view):
        yield _csv_text(cells(view.schema, row) for row in batch)
        written += len(batch)
        if progress:
            progress(written)


def write_csv(view: RecordView, path: Path, progress: Progress | None = None) -> int:
    """Write ``view`` as CSV to ``path``; returns the records written."""
    written = 0

    def count(rows: int) -> None:
        nonlocal written
        written = rows
        if progress:
            progress(rows)

    with open(path, "w", encoding="utf-8", newline="") as out:
        for piece in csv_text(view, count):
            out.write(piece)
    return written


def write_xlsx(view: RecordView, path: Path | io.BytesIO, progress: Progress | None = None) -> int:
    """Write ``view`` as an XLSX sheet to ``path``; returns the records written.

    Raises:
        RecordsError: 422, the view holds more records than a sheet can.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(view.schema.label[:31])
    sheet.append(header(view.schema))
    written = 0
    for batch in _batches(view):
        if written + len(batch) > XLSX_MAX_RECORDS:
            raise RecordsError(too_many_for_xlsx(), status=422, code="too_many_for_xlsx")
        for row in batch:
            sheet.append(cells(view.schema, row))
        written += len(batch)
        if progress:
            progress(written)
    workbook.save(path)
    return written


def too_many_for_xlsx() -> str:
    """Why an export cannot be an XLSX sheet."""
    return (
        f"An Excel sheet holds at most {XLSX_MAX_RECORDS:,} records and this view holds more: "
        "export it as CSV, or narrow it with a search or filters."
    )


def audit_export(user: User, view: RecordView, fmt: str) -> None:
    """Add to the audit log that ``user`` exported ``view`` as ``fmt`` (the caller commits)."""
    shown = ", ".join(f"{name}={value}" for name, value in view.as_args())
    audit.record(
        "records_exported",
        actor=user,
        target=view.schema.label,
        organisation_id=view.organisation_id,
        detail=f"{fmt.upper()}" + (f": {shown}" if shown else ": every record"),
    )


def export_name(schema: EntitySchema, fmt: str, when: datetime) -> str:
    """The download's file name, e.g. ``mechanics-20261207-1405.csv``."""
    return f"{schema.name}-{when:%Y%m%d-%H%M}.{fmt}"


def export_view(export: RecordExport) -> RecordView:
    """The view ``export`` was asked for."""
    schema = get_entity(export.entity_type)
    args: dict[str, list[str]] = {}
    for name, value in export.view_args:
        args.setdefault(name, []).append(value)
    view, _ = parse_view(schema, export.organisation_id, args)
    return view


def run_export(export_id: str, workspace: Path) -> RecordExport | None:
    """Write the queued export ``export_id`` into the file store, recording its progress;
    None when there is no such export or it has finished already. An export that cannot be
    an XLSX sheet fails with a message."""
    export = db.session.get(RecordExport, export_id)
    if export is None or export.finished:
        return None
    view = export_view(export)
    export.start(count_up_to(view, ALL))
    db.session.commit()
    if export.format == "xlsx" and (export.rows_expected or 0) > XLSX_MAX_RECORDS:
        export.fail(too_many_for_xlsx())
        db.session.commit()
        return export

    def progress(rows: int) -> None:
        export.rows_written = rows
        db.session.commit()

    path = workspace / f"export.{export.format}"
    writer = write_xlsx if export.format == "xlsx" else write_csv
    rows = writer(view, path, progress)
    db.session.commit()  # the database store writes its chunks on connections of its own
    with open(path, "rb") as written:
        key, size = configured_store(REPORTS).save_stream(
            written, f".{export.format}", export.organisation_id
        )
    export.complete(key, size, rows)
    db.session.commit()
    return export


def fail_export(export_id: str, message: str) -> None:
    """Record that the export ``export_id`` stopped (``message`` says why), unless it
    finished; the caller commits."""
    export = db.session.get(RecordExport, export_id)
    if export is not None and not export.finished:
        export.fail(message)


def forget_exports_older_than(hours: float) -> int:
    """Delete the exports (and their files) made more than ``hours`` ago; the caller
    commits. Returns how many went."""
    cutoff = utcnow() - timedelta(hours=hours)
    old = list(db.session.scalars(select(RecordExport).where(RecordExport.created_at < cutoff)))
    for export in old:
        delete_stored(export.file_key, REPORTS)
        db.session.delete(export)
    return len(old)
