"""Fixing a job's rejected rows: read them a page at a time, edit them (each edit checked at
once by the pipeline's own validators and the file's duplicate rule), fix many at once, and
send the fixed ones as a follow-up import of their own.

A row stays ``invalid`` until an edit leaves it without problems (``fixed``); sending the
fixed rows makes them ``sent``: a new ImportJob (``fixes_job_id`` names the original) of a
CSV file with the original's header row and mapping, through the same queue and pipeline.

A job waiting in review has the rows its dry run predicts will be rejected to fix instead
(``predictions``): the same page, edits and checks, but its fixed rows are not sent: they
are imported with the file, which reads them as edited.

The duplicate rule is the file's: a row is a duplicate when an earlier row of the file has
its natural key, or a row of the file was imported with it already. Earlier rows are the
job's rejected rows before it (and every row sent already); imported ones are the records
the job, or one of its follow-ups, inserted or changed.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Select, delete, exists, func, insert, or_, select, tuple_, update

from ..entities import EntitySchema, get_entity
from ..errors import NotFound, UseCaseError
from ..extensions import db
from ..ingest.mapping import MappingChoice
from ..ingest.rejected import (
    CellError,
    FileLayout,
    Rejection,
    chunk_rejections,
    key_text,
    key_values,
)
from ..ingest.report import report_columns
from ..ingest.validate import duplicate_message, key_label, validate_chunk
from ..models import (
    ACTIVE_BULK_FIX,
    ENTITY_TABLES,
    BulkFixRun,
    FixState,
    ImportJob,
    RejectedRow,
    RejectedRowProblem,
    User,
    is_storable_id,
    utcnow,
)
from ..storage import UPLOADS, store_holding, stored_file_exists
from ..unit_of_work import use_case
from .imports import start_import
from .predictions import in_review, predicted_kept
from .rejections import problem_rows

PAGE_ROWS = 50
DRY_RUN = "validate_only"  # the mode that stores nothing
BATCH_ROWS = 1000  # rows checked together by a bulk fix or read together by a send
FIX_STATES = tuple(FixState)

BulkAction = Literal["set", "replace", "empty"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("set", "replace", "empty")


class FixRefused(UseCaseError):
    """The rows cannot be changed or sent as asked (the message says why)."""

    status = 409
    code = "cannot_fix"


class NothingToFix(NotFound):
    """The job keeps no rejected rows (none were rejected, or the clean-up removed them)."""

    code = "no_rejected_rows"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job {job_id!r} has no rejected rows to fix.")


class BulkFixRunning(FixRefused):
    """A queued bulk fix is changing the job's rows: nothing else changes them meanwhile."""

    code = "bulk_fix_running"

    def __init__(self, run: BulkFixRun) -> None:
        super().__init__(
            f"A bulk fix is changing this job's rows ({run.rows_done:,} of "
            f"{run.rows_expected:,} done): rows can be edited and sent again once it ends. "
            "The fix page shows its progress."
        )


class RowNotFound(NotFound):
    """The job has no rejected row with that number."""

    code = "row_not_found"

    def __init__(self, row_number: int) -> None:
        super().__init__(f"Row {row_number} is not one of this job's rejected rows.")


@dataclass(frozen=True)
class RowFilter:
    """Which rejected rows a page or a bulk fix covers: rows with a problem of ``reason``,
    rows with a problem in file column ``column`` (its position), rows in ``state``."""

    reason: str | None = None
    column: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class RowPage:
    """One page of rejected rows in row order, and the row numbers its neighbours start
    from (None at an end)."""

    rows: list[RejectedRow]
    after: int | None  # the next page holds the rows after this row number
    before: int | None  # the previous page holds the rows before this row number


@dataclass(frozen=True)
class BulkFix:
    """One change to a column of many rows: ``set`` it to ``value``, ``replace`` ``find``
    with ``value`` in it, or leave it ``empty`` (an optional field only)."""

    action: BulkAction
    column: int
    value: str | None = None
    find: str = ""


def rows_kept(job: ImportJob) -> int:
    """How many rows ``job`` has to fix: its dry run's while it waits in review, else its
    import's."""
    return predicted_kept(job) if in_review(job) else job.rejected_rows_kept


def _rows_of(job: ImportJob) -> tuple[Any, ...]:
    """The conditions that pick ``job``'s rows to fix (``rows_kept``)."""
    return (RejectedRow.import_job_id == job.id, RejectedRow.predicted == in_review(job))


def fixable_layout(job: ImportJob) -> FileLayout:
    """How ``job``'s file was read, for a job with rows to fix (``rows_kept``).

    Raises:
        NothingToFix: the job keeps no rejected rows.
    """
    if not rows_kept(job) or job.file_layout is None:
        raise NothingToFix(job.id)
    return FileLayout.from_json(job.file_layout)


def column_position(layout: FileLayout, column: object) -> int:
    """The position of a file column named by its header (or given by position).

    Raises:
        FixRefused: the file has no such column (422).
    """
    if isinstance(column, int) and not isinstance(column, bool):
        if 0 <= column < len(layout.headers):
            return column
    elif isinstance(column, str) and column in layout.headers:
        return layout.headers.index(column)
    raise FixRefused(
        f"The file has no column {column!r}. Its columns are: {', '.join(layout.headers)}.",
        code="unknown_column",
        status=422,
    )


def required_columns(job: ImportJob, layout: FileLayout) -> set[int]:
    """The positions of the file columns that feed a required field (never left empty)."""
    schema = get_entity(job.entity_type)
    return {layout.positions[f.name] for f in schema.required_fields if f.name in layout.positions}


# -- reading -------------------------------------------------------------------------------


def _filtered(job: ImportJob, filters: RowFilter) -> Select:
    query = select(RejectedRow).where(*_rows_of(job))
    if filters.state:
        query = query.where(RejectedRow.state == filters.state)
    problems = []
    if filters.reason:
        problems.append(RejectedRowProblem.reason == filters.reason)
    if filters.column is not None:
        problems.append(RejectedRowProblem.file_column == filters.column)
    if problems:
        query = query.where(
            exists().where(
                RejectedRowProblem.import_job_id == job.id,
                RejectedRowProblem.row_number == RejectedRow.row_number,
                *problems,
            )
        )
    return query


def rejected_page(
    job: ImportJob,
    filters: RowFilter = RowFilter(),
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = PAGE_ROWS,
) -> RowPage:
    """The rejected rows of ``job`` that ``filters`` lets through, ``limit`` at a time in row
    order: the first page, or the one after row ``after``, or the one before row ``before``."""
    query = _filtered(job, filters)
    if before is not None:
        found = db.session.scalars(
            query.where(RejectedRow.row_number < before)
            .order_by(RejectedRow.row_number.desc())
            .limit(limit + 1)
        ).all()
        rows = list(reversed(found[:limit]))
        earlier = len(found) > limit
        return RowPage(rows, rows[-1].row_number if rows else None, _first(rows, earlier))
    if after is not None:
        query = query.where(RejectedRow.row_number > after)
    found = db.session.scalars(query.order_by(RejectedRow.row_number).limit(limit + 1)).all()
    rows = list(found[:limit])
    later = len(found) > limit
    return RowPage(rows, rows[-1].row_number if later else None, _first(rows, after is not None))


def _first(rows: list[RejectedRow], earlier: bool) -> int | None:
    return rows[0].row_number if rows and earlier else None


def fix_counts(job: ImportJob) -> dict[str, int]:
    """How many of ``job``'s rejected rows are invalid, fixed and sent (the fixed and sent
    ones are counted, so that a job of many rejected rows and few fixes counts few)."""
    counted = dict(
        db.session.execute(
            select(RejectedRow.state, func.count())
            .where(*_rows_of(job), RejectedRow.state.in_([FixState.FIXED, FixState.SENT]))
            .group_by(RejectedRow.state)
        ).all()
    )
    fixed, sent = (int(counted.get(state.value, 0)) for state in (FixState.FIXED, FixState.SENT))
    return {
        FixState.INVALID.value: rows_kept(job) - fixed - sent,
        FixState.FIXED.value: fixed,
        FixState.SENT.value: sent,
    }


@dataclass(frozen=True)
class ProblemSummary:
    """What ``job``'s rows are invalid for now: each reason and each file column (position)
    with how many problems they have, the most frequent reason first, columns in the file's
    order."""

    reasons: list[tuple[str, int]]
    columns: list[tuple[int, int]]


def problem_summary(job: ImportJob) -> ProblemSummary:
    """The reasons and columns of ``job``'s problems now (each counted along its own index)."""
    problems = select(func.count()).where(RejectedRowProblem.import_job_id == job.id)
    reasons = db.session.execute(
        problems.add_columns(RejectedRowProblem.reason).group_by(RejectedRowProblem.reason)
    ).all()
    columns = db.session.execute(
        problems.add_columns(RejectedRowProblem.file_column)
        .where(RejectedRowProblem.file_column.is_not(None))
        .group_by(RejectedRowProblem.file_column)
    ).all()
    return ProblemSummary(
        sorted(((reason, int(count)) for count, reason in reasons), key=lambda r: (-r[1], r[0])),
        sorted((int(position), int(count)) for count, position in columns),
    )


def find_row(job: ImportJob, row_number: int) -> RejectedRow:
    """Rejected row ``row_number`` of ``job``.

    Raises:
        RowNotFound: the job has no such rejected row.
    """
    if not is_storable_id(row_number):  # no row has it, and a database would refuse it
        raise RowNotFound(row_number)
    row = db.session.scalar(
        select(RejectedRow).where(*_rows_of(job), RejectedRow.row_number == row_number)
    )
    if row is None:
        raise RowNotFound(row_number)
    return row


# -- checking edited rows ------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A cell as an edit writes it: text, empty as None."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def rows_open(job: ImportJob) -> bool:
    """Whether ``job``'s rows to fix may change now: its import ended, or it waits in review."""
    return job.is_finished or in_review(job)


def _editable(job: ImportJob) -> FileLayout:
    layout = fixable_layout(job)
    if not rows_open(job):
        raise FixRefused("The import is still running: its rows can be fixed once it ends.")
    return layout


def lock_rows(job: ImportJob) -> None:
    """Take the job's row lock for the rest of the transaction, so that edits and sends of
    its rows happen one after another (PostgreSQL; SQLite writes one at a time anyway)."""
    db.session.execute(select(ImportJob.id).where(ImportJob.id == job.id).with_for_update())


def running_bulk_fix(job: ImportJob) -> BulkFixRun | None:
    """The queued bulk fix waiting for a worker or changing ``job``'s rows, if there is one."""
    return db.session.scalar(
        select(BulkFixRun)
        .where(BulkFixRun.import_job_id == job.id, BulkFixRun.status.in_(ACTIVE_BULK_FIX))
        .limit(1)
    )


def _locked(job: ImportJob) -> None:
    """Take the job's row lock (``lock_rows``) for a person's change of its rows.

    Raises:
        BulkFixRunning: a queued bulk fix is changing them.
    """
    lock_rows(job)
    running = running_bulk_fix(job)
    if running is not None:
        raise BulkFixRunning(running)


class RowChecker:
    """Checks edited rows of one job as its import did, and records what it finds."""

    def __init__(self, job: ImportJob, layout: FileLayout) -> None:
        self.job = job
        self.layout = layout
        self.schema: EntitySchema = get_entity(job.entity_type)
        self.mapping = layout.mapping

    def _padded(self, cells: Sequence[Any]) -> list[str | None]:
        width = len(self.layout.headers)
        return [_text(c) for c in list(cells)[:width]] + [None] * (width - len(cells))

    def check(self, rows: list[RejectedRow], cells: list[list[Any]]) -> None:
        """Give each of ``rows`` its edited ``cells`` (as many as the file has columns) and
        what the import would make of them now: its problems, natural key and state."""
        if not rows:
            return
        cells = [self._padded(c) for c in cells]
        frame = pd.DataFrame(cells, columns=range(len(self.layout.headers)), dtype=object)
        outcome = validate_chunk(self.schema, self.mapping, frame, None)
        rejected = {r.row: r for r in chunk_rejections(self.schema, self.layout, frame, 0, outcome)}
        keys = key_values(self.schema, self.mapping, frame)
        repeated = self._repeated(rows, keys)
        moved: set[str] = set()  # keys a row took or gave up
        problems: list[dict[str, Any]] = []  # the rows' entries in the problem index
        now = utcnow()
        for position, (row, row_cells, key) in enumerate(zip(rows, cells, keys, strict=True)):
            errors = list(rejected[position].errors) if position in rejected else []
            if position in repeated:
                errors.append(self._duplicate(key))
            text = key_text(key)
            if row.natural_key != text:
                moved.update(k for k in (row.natural_key, text) if k is not None)
            row.fixed_cells = row_cells
            row.fix_errors = [e.to_json() for e in errors]
            row.natural_key = text
            row.state = FixState.INVALID if errors else FixState.FIXED
            row.edited_at = now
            problems += problem_rows(
                self.job.id,
                row.row_number,
                Rejection(row.row_number, [], errors, None),
                self.layout,
            )
        self._index([row.row_number for row in rows], problems)
        self._recheck_others(moved, {row.row_number for row in rows})

    def _duplicate(self, key: tuple[Any, ...] | None) -> CellError:
        label = key_label(self.schema)
        key_fields = self.schema.natural_key
        name = key_fields[0] if len(key_fields) == 1 else None
        column = self.layout.column_of(name)
        header = self.layout.headers[column] if column is not None else None
        return CellError(header, name, duplicate_message(label, ", ".join(map(str, key or ()))))

    def _repeated(self, rows: list[RejectedRow], keys: list[tuple[Any, ...] | None]) -> set[int]:
        """The positions in ``rows`` whose key an earlier row of the file has: an earlier
        rejected row (edited in this batch or not), a row sent already, or an imported one."""
        texts = [key_text(k) for k in keys]
        wanted = {t for t in texts if t is not None}
        if not wanted:
            return set()
        checked = {row.row_number for row in rows}
        earliest: dict[str, int] = {}  # key → the first row number that has it
        sent: set[str] = set()
        for batch in _batches(sorted(wanted)):
            for number, key, state in db.session.execute(
                select(RejectedRow.row_number, RejectedRow.natural_key, RejectedRow.state).where(
                    *_rows_of(self.job), RejectedRow.natural_key.in_(batch)
                )
            ).all():
                if number in checked or key is None:
                    continue
                earliest[key] = min(earliest.get(key, number), number)
                if state == FixState.SENT:
                    sent.add(key)
        for row, text in zip(rows, texts, strict=True):
            if text is not None:
                earliest[text] = min(earliest.get(text, row.row_number), row.row_number)
        imported = self._imported([k for k in keys if k is not None])
        return {
            position
            for position, (row, text, key) in enumerate(zip(rows, texts, keys, strict=True))
            if text is not None
            and (earliest[text] < row.row_number or text in sent or key in imported)
        }

    def _imported(self, keys: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
        """Those of ``keys`` whose record this job or one of its follow-ups wrote."""
        if not keys:
            return set()
        table = ENTITY_TABLES[self.schema.name]
        columns = [table.c[name] for name in self.schema.natural_key]
        jobs = select(ImportJob.id).where(
            or_(ImportJob.id == self.job.id, ImportJob.fixes_job_id == self.job.id)
        )
        found: set[tuple[Any, ...]] = set()
        for batch in _batches(sorted(set(keys), key=str)):
            match = (
                columns[0].in_([k[0] for k in batch])
                if len(columns) == 1
                else tuple_(*columns).in_(batch)
            )
            found.update(
                tuple(r)
                for r in db.session.execute(
                    select(*columns).where(
                        table.c.organisation_id == self.job.organisation_id,
                        match,
                        or_(table.c.import_job_id.in_(jobs), table.c.created_job_id.in_(jobs)),
                    )
                ).all()
            )
        return found

    def _index(self, numbers: list[int], problems: list[dict[str, Any]]) -> None:
        """Replace the entries of rows ``numbers`` in the problem index by ``problems``."""
        db.session.execute(
            delete(RejectedRowProblem).where(
                RejectedRowProblem.import_job_id == self.job.id,
                RejectedRowProblem.row_number.in_(numbers),
            )
        )
        if problems:
            db.session.execute(insert(RejectedRowProblem), problems)

    def _recheck_others(self, keys: set[str], checked: set[int]) -> None:
        """Check again the rows not sent that have a key an edit just took or gave up: they
        may repeat an earlier row now, or no longer."""
        if not keys:
            return
        rows = [
            row
            for batch in _batches(sorted(keys))
            for row in db.session.scalars(
                select(RejectedRow).where(
                    *_rows_of(self.job),
                    RejectedRow.natural_key.in_(batch),
                    RejectedRow.state != FixState.SENT,
                )
            ).all()
            if row.row_number not in checked
        ]
        if rows:
            db.session.flush()  # the edited rows' keys, for the check of the others
            edited_at = {row.row_number: row.edited_at for row in rows}
            self.check(rows, [row.current_cells for row in rows])
            for row in rows:  # nobody edited them: they were checked again
                row.edited_at = edited_at[row.row_number]


def _batches(items: Sequence[Any], size: int = BATCH_ROWS) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- editing -------------------------------------------------------------------------------


@use_case
def edit_row(job: ImportJob, row_number: int, cells: dict[int, Any]) -> RejectedRow:
    """Change cells of rejected row ``row_number`` (position → new value; empty text or
    None empties it) and check the row again.

    Raises:
        NothingToFix, RowNotFound: no such rejected row.
        FixRefused: the import is still running, or the row was sent already.
    """
    layout = _editable(job)
    _locked(job)
    row = find_row(job, row_number)
    if row.state == FixState.SENT:
        raise FixRefused(f"Row {row_number} was sent already: it can no longer be changed.")
    edited = list(row.current_cells)
    edited += [None] * (len(layout.headers) - len(edited))
    for position, value in cells.items():
        edited[position] = value
    RowChecker(job, layout).check([row], [edited])
    return row


def _bulk_targets(job: ImportJob, filters: RowFilter, rows: Iterable[int] | None) -> Select:
    query = _filtered(job, filters).where(RejectedRow.state != FixState.SENT)
    if rows is not None:
        query = query.where(RejectedRow.row_number.in_(list(rows)))
    return query


def _bulk_value(fix: BulkFix, value: Any) -> tuple[bool, Any]:
    """Whether ``fix`` changes a cell holding ``value``, and to what."""
    if fix.action == "set":
        return _text(value) != _text(fix.value), fix.value
    if fix.action == "empty":
        return _text(value) is not None, None
    text = "" if value is None else str(value)
    if fix.find not in text:
        return False, value
    return True, text.replace(fix.find, fix.value or "")


def checked_bulk_fix(job: ImportJob, fix: BulkFix) -> tuple[FileLayout, int]:
    """How ``job``'s file was read, and the position of the column ``fix`` changes.

    Raises:
        NothingToFix: the job keeps no rejected rows.
        FixRefused: the import is still running; the column feeds a required field and
            cannot be left empty; there is nothing to find (422).
    """
    layout = _editable(job)
    column = column_position(layout, fix.column)
    if fix.action == "empty" and column in required_columns(job, layout):
        raise FixRefused(
            f"{layout.headers[column]} feeds a required field: it cannot be left empty.",
            code="required_field",
            status=422,
        )
    if fix.action == "replace" and not fix.find:
        raise FixRefused("Say what to find in the column.", code="nothing_to_find", status=422)
    return layout, column


def bulk_targets(
    job: ImportJob, filters: RowFilter = RowFilter(), rows: Iterable[int] | None = None
) -> int:
    """How many rows a bulk fix of ``rows`` (None: every row ``filters`` lets through) goes
    through now: those not sent yet."""
    chosen = None if rows is None else sorted(set(rows))
    targets = _bulk_targets(job, filters, chosen).with_only_columns(RejectedRow.row_number)
    return db.session.scalar(select(func.count()).select_from(targets.subquery())) or 0


@dataclass(frozen=True)
class FixedBatch:
    """One batch of a bulk fix: the rows gone through (``done``), how many of them changed,
    and the last row number (None: no row was left after the one it started after)."""

    done: int
    changed: int
    last_row: int | None


def fix_batch(
    job: ImportJob,
    fix: BulkFix,
    filters: RowFilter,
    rows: Iterable[int] | None,
    *,
    after: int,
    limit: int = BATCH_ROWS,
) -> FixedBatch:
    """Apply ``fix`` to the next ``limit`` rows of the bulk fix after row number ``after``,
    checking each changed row again (flushed, in the caller's transaction)."""
    layout, column = checked_bulk_fix(job, fix)
    chosen = None if rows is None else sorted(set(rows))
    batch = db.session.scalars(
        _bulk_targets(job, filters, chosen)
        .where(RejectedRow.row_number > after)
        .order_by(RejectedRow.row_number)
        .limit(limit)
    ).all()
    if not batch:
        return FixedBatch(0, 0, None)
    edits: list[tuple[RejectedRow, list[Any]]] = []
    for row in batch:
        cells = list(row.current_cells)
        cells += [None] * (len(layout.headers) - len(cells))
        changes, value = _bulk_value(fix, cells[column])
        if changes:
            cells[column] = value
            edits.append((row, cells))
    RowChecker(job, layout).check([row for row, _ in edits], [cells for _, cells in edits])
    db.session.flush()
    return FixedBatch(len(batch), len(edits), batch[-1].row_number)


@use_case
def bulk_fix(
    job: ImportJob,
    fix: BulkFix,
    filters: RowFilter = RowFilter(),
    rows: Iterable[int] | None = None,
) -> int:
    """Apply ``fix`` to every row of ``rows`` (row numbers; None: every row ``filters``
    lets through) not sent yet, checking each changed row again, in this transaction; how
    many changed (``bulk_fixes.start_bulk_fix`` queues a large one instead).

    Raises:
        NothingToFix: the job keeps no rejected rows.
        FixRefused: as ``checked_bulk_fix``; a queued bulk fix is changing the rows.
    """
    checked_bulk_fix(job, fix)
    _locked(job)
    changed, after = 0, 0
    while True:
        batch = fix_batch(job, fix, filters, rows, after=after)
        if batch.last_row is None:
            return changed
        changed, after = changed + batch.changed, batch.last_row


# -- sending -------------------------------------------------------------------------------


def follow_ups(job: ImportJob) -> list[ImportJob]:
    """The jobs that sent fixed rows of ``job``, oldest first."""
    return list(
        db.session.scalars(
            select(ImportJob).where(ImportJob.fixes_job_id == job.id).order_by(ImportJob.created_at)
        ).all()
    )


def combined_totals(job: ImportJob, sent_in: list[ImportJob]) -> dict[str, int]:
    """What ``job`` and its follow-ups ``sent_in`` stored together, and how many of its rows
    are still to be fixed."""
    jobs = [job, *sent_in]
    return {
        "inserted": sum(j.inserted_rows for j in jobs),
        "updated": sum(j.updated_rows for j in jobs),
        "unchanged": sum(j.unchanged_rows for j in jobs),
        "still_invalid": fix_counts(job)[FixState.INVALID] if rows_kept(job) else 0,
    }


def _mapping(layout: FileLayout) -> dict[str, Any]:
    """The original's mapping for a file with its header row: every column as it was read."""
    fields = {position: name for name, position in layout.positions.items()}
    columns = {
        header: fields.get(position)
        for position, header in enumerate(layout.headers)
        if header.strip()
    }
    choice = MappingChoice(columns=columns, values=dict(layout.values), formats=layout.formats)
    return choice.to_json()


def _fixed_file(job: ImportJob, layout: FileLayout) -> tuple[Any, int]:
    """The fixed rows of ``job`` as a CSV file (the original's header row), and how many.

    When the original was an error report, the ``row`` column gives each row's number in it,
    so that the follow-up names the rows of ``job`` it carries (``rejections.mark_carried``).
    """
    numbered = bool(report_columns(layout.headers))
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(layout.headers)
    count, after = 0, 0
    while True:
        batch = db.session.execute(
            select(RejectedRow.row_number, RejectedRow.fixed_cells)
            .where(
                *_rows_of(job),
                RejectedRow.state == FixState.FIXED,
                RejectedRow.row_number > after,
            )
            .order_by(RejectedRow.row_number)
            .limit(BATCH_ROWS)
        ).all()
        for row_number, cells in batch:
            written = ["" if c is None else c for c in cells]
            if numbered:
                written[0] = row_number
            writer.writerow(written)
        count += len(batch)
        if len(batch) < BATCH_ROWS:
            break
        after = batch[-1].row_number
    text.flush()
    text.detach()
    spool.seek(0)
    return spool, count


def _import_file_with_fixes(
    job: ImportJob, user: User, layout: FileLayout
) -> tuple[ImportJob, int]:
    """Import a validate-only ``job``'s whole file (``partial``), as its follow-up, with every
    row fixed on this page read as fixed (as rows edited in review are read: the follow-up
    keeps them as its predicted rows, ``predictions.review_edits``); mark the fixed rows sent.
    Returns the new job and how many rows were fixed since the last send."""
    if job.stored_path is None or not stored_file_exists(job.stored_path, UPLOADS):
        raise FixRefused(
            "The file of this dry run is no longer kept, so it cannot be imported with its "
            "fixes: upload the file again.",
            code="file_gone",
        )
    fixed = db.session.execute(
        select(RejectedRow.row_number, RejectedRow.fixed_cells, RejectedRow.state).where(
            *_rows_of(job),
            RejectedRow.state.in_([FixState.FIXED, FixState.SENT]),
            RejectedRow.fixed_cells.is_not(None),
        )
    ).all()
    count = sum(1 for _, _, state in fixed if state == FixState.FIXED)
    if not count:
        raise FixRefused(
            "No row is fixed yet: fix rows first, then import the file.", code="nothing_to_send"
        )
    db.session.execute(
        update(RejectedRow)
        .where(*_rows_of(job), RejectedRow.state == FixState.FIXED)
        .values(state=FixState.SENT)
    )

    def carry_fixes(follow_up: ImportJob) -> None:
        db.session.execute(
            insert(RejectedRow),
            [
                {
                    "import_job_id": follow_up.id,
                    "row_number": number,
                    "cells": cells,
                    "errors": [],
                    "fixed_cells": cells,
                    "fix_errors": [],
                    "state": FixState.FIXED,
                    "predicted": True,
                }
                for number, cells, _ in fixed
            ],
        )

    key = job.stored_path
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        for chunk in store_holding(key, UPLOADS).chunks(key):
            spool.write(chunk)
        spool.seek(0)
        name = Path(job.original_filename)
        follow_up, _ = start_import(
            user=user,
            entity_type=job.entity_type,
            stream=spool,
            filename=f"fixes for {name.stem}{name.suffix}",
            mapping=_mapping(layout),
            fixes=job,
            before_commit=carry_fixes,
        )
    return follow_up, count


def send_fixed_rows(job: ImportJob, user: User) -> tuple[ImportJob, int]:
    """Send the fixed rows of ``job`` as a new import ("fixes for <file>"), queued like any
    upload, and mark them sent, in one commit; rows still invalid stay to be fixed. Returns
    the new job and how many rows it holds.

    A validate-only job stored nothing, so its fixed rows alone would be half its file:
    its follow-up imports the whole file instead (``_import_file_with_fixes``).

    Raises:
        NothingToFix: the job keeps no rejected rows.
        FixRefused: the import is still running, or no row is fixed yet, or the job waits
            in review (its fixed rows are imported with the file), or a validate-only job's
            file is no longer kept.
    """
    layout = _editable(job)
    if in_review(job):
        raise FixRefused(
            "This file is still in review: its fixed rows are imported with it. Start the "
            "import instead.",
            code="in_review",
        )
    try:
        _locked(job)
        if job.mode == DRY_RUN:
            return _import_file_with_fixes(job, user, layout)
        spool, count = _fixed_file(job, layout)
        with spool:
            if not count:
                raise FixRefused(
                    "No row is fixed yet: fix rows first, then send them.", code="nothing_to_send"
                )
            db.session.execute(
                update(RejectedRow)
                .where(*_rows_of(job), RejectedRow.state == FixState.FIXED)
                .values(state=FixState.SENT)
            )
            follow_up, _ = start_import(
                user=user,
                entity_type=job.entity_type,
                stream=spool,
                filename=f"fixes for {Path(job.original_filename).stem}.csv",
                mode=job.mode,
                mapping=_mapping(layout),
                fixes=job,
            )
    except BaseException:
        db.session.rollback()
        raise
    return follow_up, count
