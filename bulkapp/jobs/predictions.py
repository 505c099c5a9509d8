"""The rows the review's dry run predicts will be rejected, kept so that they can be fixed
before the import (``RejectedRow.predicted``).

Each dry run replaces the last one's rows, but a row a person edited stays with its edits
(they are cells of the file's columns, so they hold under any mapping) and is checked
again by the new dry run; only a file read with another header row drops them. The import
reads the edited rows as edited (``review_edits``); its own rejected rows replace the
predicted ones once it completes.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update

from ..extensions import db
from ..ingest.rejected import FileLayout, Rejection, Rejections, RowEdits
from ..models import NEEDS_REVIEW, ImportJob, RejectedRow, RejectedRowProblem
from ..models.rejected_row import FixState
from .rejections import keep_rejections, problem_rows

EDIT_BATCH_ROWS = 1000  # edited rows updated per statement


def in_review(job: ImportJob) -> bool:
    """Whether ``job``'s rows to fix are the predicted ones (it waits in review)."""
    return job.status == NEEDS_REVIEW


def predicted_kept(job: ImportJob) -> int:
    """How many rows the dry run of ``job`` kept (as the analysis counted them)."""
    return int((job.analysis or {}).get("predicted_rows", 0))


def _edited() -> Any:
    return RejectedRow.fixed_cells.is_not(None)


def begin_predictions(job: ImportJob, layout: FileLayout) -> RowEdits:
    """Forget the rows the last dry run of ``job`` predicted, and the problem index (only
    predicted rows have entries while the job is analysed), in the current transaction;
    returns the edited rows, kept to be checked again, as the dry run reads them. A file
    read with other headers than the last dry run's keeps no edit."""
    session = db.session()
    unindex_predictions(job)
    predicted = [RejectedRow.import_job_id == job.id, RejectedRow.predicted]
    # No layout yet: a first dry run, whose only edits are those carried in with the job.
    same_file = job.file_layout is None or job.file_layout["headers"] == list(layout.headers)
    forget = delete(RejectedRow).where(*predicted)
    session.execute(forget.where(~_edited()) if same_file else forget)
    job.file_layout = layout.to_json()
    if not same_file:
        return RowEdits()
    edits = session.execute(
        select(RejectedRow.row_number, RejectedRow.fixed_cells).where(*predicted)
    ).all()
    return RowEdits({number: list(cells) for number, cells in edits})


def keep_predictions(job: ImportJob, rejections: Rejections, edited: list[Rejection]) -> None:
    """Keep a chunk's predicted rejected rows (inserted as the import's are) and check its
    edited rows again (their problems, key and state as the dry run found them), in the
    current transaction."""
    if rejections.rows:
        keep_rejections(job, rejections, predicted=True)
    if not edited:
        return
    rows = cast(Table, RejectedRow.__table__)
    statement = (
        update(rows)
        .where(
            rows.c.import_job_id == job.id,
            rows.c.predicted,
            rows.c.row_number == bindparam("b_row"),
        )
        .values(
            fix_errors=bindparam("b_errors"),
            natural_key=bindparam("b_key"),
            state=bindparam("b_state"),
        )
    )
    for start in range(0, len(edited), EDIT_BATCH_ROWS):
        batch = edited[start : start + EDIT_BATCH_ROWS]
        db.session.execute(
            statement,
            [
                {
                    "b_row": row.row,
                    "b_errors": [error.to_json() for error in row.errors],
                    "b_key": row.key,
                    "b_state": FixState.INVALID if row.errors else FixState.FIXED,
                }
                for row in batch
            ],
        )
    problems = [
        problem
        for row in edited
        for problem in problem_rows(job.id, row.row, row, rejections.layout)
    ]
    if problems:
        db.session.execute(insert(RejectedRowProblem), problems)


def count_predictions(job: ImportJob) -> int:
    """How many predicted rows ``job`` keeps now (the dry run just ended)."""
    return int(
        db.session.scalar(
            select(func.count()).where(RejectedRow.import_job_id == job.id, RejectedRow.predicted)
        )
        or 0
    )


def review_edits(job: ImportJob) -> RowEdits:
    """The rows of ``job`` edited in review, for the import to read as edited."""
    edits = db.session.execute(
        select(RejectedRow.row_number, RejectedRow.fixed_cells).where(
            RejectedRow.import_job_id == job.id, RejectedRow.predicted, _edited()
        )
    ).all()
    return RowEdits({number: list(cells) for number, cells in edits})


def forget_predictions(job: ImportJob, *, index: bool) -> None:
    """Delete the predicted rows of ``job`` (the caller commits); with ``index``, their
    entries in the problem index too (the job has no others: it is still in review)."""
    if index:
        unindex_predictions(job)
    db.session.execute(
        delete(RejectedRow).where(RejectedRow.import_job_id == job.id, RejectedRow.predicted)
    )


def unindex_predictions(job: ImportJob) -> None:
    """Drop the predicted rows' problem index entries (the job has no others before its
    import): when a dry run starts again, when the review ends, and as the import starts,
    which indexes its own rows."""
    db.session.execute(delete(RejectedRowProblem).where(RejectedRowProblem.import_job_id == job.id))
