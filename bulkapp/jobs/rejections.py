"""The rejected rows kept per job: stored with their chunk, read back as the error report,
deleted with the job's files.

The report downloads as ``<upload>-errors-<job id>-<signature>.csv``: the signature (an HMAC
of the job and its organisation under ``SECRET_KEY``) lets that file, fixed and uploaded
again in the same organisation, name its job as the one whose rows it fixes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Table, delete, insert, select, update

from ..extensions import db
from ..ingest.rejected import FileLayout, Rejection, Rejections, reason_of
from ..ingest.report import ReportLine, report_bytes, report_columns
from ..models import ImportJob, RejectedRow, RejectedRowProblem
from ..models.rejected_row import REASON_LENGTH, FixState

REPORT_BATCH_ROWS = 1000  # rows read from the database per query while a report streams
CARRIED_BATCH_ROWS = 1000  # rows a follow-up carried, marked sent per statement


def keep_rejections(job: ImportJob, rejections: Rejections, *, predicted: bool = False) -> None:
    """Store a chunk's rejected rows (the import's, or the ``predicted`` ones of the review's
    dry run), with their problems, in the current transaction."""
    layout = rejections.layout.to_json()
    if job.file_layout != layout:
        job.file_layout = layout
    session = db.session()
    # Core inserts of the tables (not the ORM's bulk insert of the models): a chunk's rows go
    # to the driver's executemany without the ORM's bookkeeping per row.
    session.execute(
        insert(cast(Table, RejectedRow.__table__)),
        [
            {
                "import_job_id": job.id,
                "row_number": rejection.row,
                "cells": rejection.cells,
                "errors": [error.to_json() for error in rejection.errors],
                "natural_key": rejection.key,
                "state": FixState.INVALID,
                "predicted": predicted,
            }
            for rejection in rejections.rows
        ],
    )
    problems = [
        problem
        for rejection in rejections.rows
        for problem in problem_rows(job.id, rejection.row, rejection, rejections.layout)
    ]
    if problems:
        session.execute(insert(cast(Table, RejectedRowProblem.__table__)), problems)


def mark_carried(original_id: str, rows: list[int]) -> None:
    """Mark the rejected rows numbered ``rows`` of the job ``original_id`` sent, in the
    current transaction: a follow-up of that job (its error report uploaded again) imported
    them. Rows it rejected again stay to be fixed on the original."""
    for start in range(0, len(rows), CARRIED_BATCH_ROWS):
        db.session.execute(
            update(RejectedRow)
            .where(
                RejectedRow.import_job_id == original_id,
                ~RejectedRow.predicted,
                RejectedRow.row_number.in_(rows[start : start + CARRIED_BATCH_ROWS]),
                RejectedRow.state != FixState.SENT,
            )
            .values(state=FixState.SENT)
        )


def problem_rows(
    job_id: str, row_number: int, rejection: Rejection, layout: FileLayout
) -> list[dict[str, Any]]:
    """The problem index entries of one row's errors."""
    return [
        {
            "import_job_id": job_id,
            "row_number": row_number,
            "position": position,
            "file_column": layout.column_of(error.field),
            "reason": reason_of(error.message)[:REASON_LENGTH],
        }
        for position, error in enumerate(rejection.errors)
    ]


SIGNATURE_LENGTH = 16  # hex digits of the report's signature (64 bits)
# "<stem>-errors-<job id>-<signature>", perhaps with the " (1)" a browser adds to a second copy.
SIGNED_REPORT = re.compile(
    r"-errors-(?P<job>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    rf"-(?P<signature>[0-9a-f]{{{SIGNATURE_LENGTH}}})(?: ?\(\d+\))?$",
    re.IGNORECASE,
)


def _report_signature(job_id: str, organisation_id: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"error-report:{job_id}:{organisation_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]


def report_name(job: ImportJob) -> str:
    """The download name of the error report of ``job``, signed:
    ``mechanics-errors-<job id>-<signature>.csv``."""
    stem = Path(job.original_filename).stem or "upload"
    return f"{stem}-errors-{job.id}-{_report_signature(job.id, job.organisation_id)}.csv"


def reported_job(filename: str, organisation_id: int) -> ImportJob | None:
    """The job of ``organisation_id`` whose error report ``filename`` is named as (its
    signature verified); None for any other name, a forged signature or another
    organisation's report."""
    found = SIGNED_REPORT.search(Path(filename).stem)
    if found is None:
        return None
    job_id = found["job"].lower()
    if not hmac.compare_digest(
        found["signature"].lower(), _report_signature(job_id, organisation_id)
    ):
        return None
    return db.session.scalar(
        select(ImportJob).where(
            ImportJob.id == job_id, ImportJob.organisation_id == organisation_id
        )
    )


def error_report(job: ImportJob) -> Iterator[bytes] | None:
    """The error report of ``job``, streamed from its kept rejected rows in row order; None
    when none are kept (no row was rejected, or the clean-up removed them)."""
    if not job.rejected_rows_kept or job.file_layout is None:
        return None
    layout = FileLayout.from_json(job.file_layout)
    # A report uploaded again has the report's own columns: its report has them once.
    skip = report_columns(layout.headers)
    headers = [h for i, h in enumerate(layout.headers) if i not in skip]
    return report_bytes(headers, _report_lines(job.id, skip))


def _report_lines(job_id: str, skip: frozenset[int]) -> Iterator[ReportLine]:
    """Every kept rejected row of the job as the report shows it (without the columns at
    ``skip``), read a batch at a time."""
    after = 0
    while True:
        batch = db.session.execute(
            select(RejectedRow.row_number, RejectedRow.cells, RejectedRow.errors)
            .where(
                RejectedRow.import_job_id == job_id,
                ~RejectedRow.predicted,
                RejectedRow.row_number > after,
            )
            .order_by(RejectedRow.row_number)
            .limit(REPORT_BATCH_ROWS)
        ).all()
        for row_number, cells, errors in batch:
            shown = [c for i, c in enumerate(cells) if i not in skip] if skip else cells
            yield row_number, shown, [error["message"] for error in errors]
        if len(batch) < REPORT_BATCH_ROWS:
            return
        after = batch[-1].row_number


def forget_rejected_rows(job: ImportJob) -> int:
    """Delete the rejected rows of ``job`` (predicted ones too) and their problems (the
    caller commits); returns how many rows went."""
    session = db.session()
    session.execute(delete(RejectedRowProblem).where(RejectedRowProblem.import_job_id == job.id))
    removed = session.execute(delete(RejectedRow).where(RejectedRow.import_job_id == job.id))
    job.rejected_rows_kept = 0
    return cast(CursorResult[Any], removed).rowcount
