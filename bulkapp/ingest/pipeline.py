"""The import pipeline: read chunks → map → validate → persist, resumable per chunk.

An import is planned first (``plan_import``: the file opened, its headers mapped, the passes
over it decided, from where an earlier attempt stopped), then run chunk by chunk
(``ImportRun``). Each chunk's rows and rejected rows are committed together with the import's
progress and checkpoint, in one transaction, through the ``ImportSink`` the caller provides.
An attempt that finds a checkpoint skips the rows already done and carries on with the
counters it had. Rows edited in review (``ImportRequest.edits``) are read as edited, in the
reading process, before they are validated.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from .errors import EMPTY_FILE, INVALID_ROWS, VALUE_REFUSED, ImportFailed
from .mapping import ColumnMapping, header_scorer, map_headers
from .persist import Saved, Upserter, ValueRefused
from .prefetch import Prefetcher
from .progress import (
    TIMED_STAGES,
    VALIDATE,
    WRITE,
    Checkpoint,
    Counters,
    ImportRequest,
    ImportSink,
    Progress,
)
from .readers import Reader, open_reader, rereading
from .readings import (
    ColumnNotes,
    UnreadColumn,
    merge_notes,
    merge_unread,
    reading_warnings,
    unnamed_warnings,
)
from .rejected import FileLayout, Rejection, Rejections, chunk_rejections
from .report import report_columns, reported_rows
from .validate import ChunkOutcome, SeenKeys, claim_keys, validate_chunk

COMPLETED, CANCELED = "completed", "canceled"

# Per mode: the passes over the file, each with the progress range (percent) it covers.
PASSES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "partial": ((WRITE, 2, 97),),
    "validate_only": ((VALIDATE, 2, 97),),
    "all_or_nothing": ((VALIDATE, 2, 50), (WRITE, 50, 97)),
}
FINALIZING_PERCENT = 97


@dataclass(frozen=True)
class Pass:
    """One reading of the file: to validate it, or to validate and write it."""

    phase: str
    low: int  # progress (percent) at its start...
    high: int  # ...and at its end
    skip_rows: int  # rows done by an earlier attempt

    @property
    def stage(self) -> str:
        return "validating" if self.phase == VALIDATE else "saving"


@dataclass(frozen=True)
class ImportPlan:
    """Everything an attempt needs, settled before its first chunk."""

    request: ImportRequest
    reader: Reader
    mapping: ColumnMapping
    layout: FileLayout
    passes: tuple[Pass, ...]
    resume: Checkpoint | None  # the checkpoint the first pass resumes from


def plan_import(request: ImportRequest) -> ImportPlan:
    """Open the upload, map its headers and decide the passes left to do.

    Raises:
        ImportFailed: the file cannot be read, or its headers do not fit the entity type.
    """
    header_score = header_scorer(request.schema)
    reader = open_reader(request.path, request.filename, header_score=header_score)
    headers = ["" if h is None else str(h) for h in reader.headers]
    mapping = map_headers(
        request.schema, headers, request.mapping_for(request.schema, headers)
    ).reading_file(rereading(request.path, request.filename, header_score, request.chunk_rows))
    resume = request.checkpoint
    passes: list[Pass] = []
    for phase, low, high in PASSES[request.mode]:
        if resume is not None and resume.phase == WRITE and phase == VALIDATE:
            continue  # validation of an all-or-nothing file was finished by an earlier attempt
        skip = resume.rows_done if resume is not None and resume.phase == phase else 0
        passes.append(Pass(phase, low, high, skip))
    resumes = resume is not None and resume.phase in {p.phase for p in passes}
    layout = FileLayout.of(headers, mapping)
    return ImportPlan(request, reader, mapping, layout, tuple(passes), resume if resumes else None)


@dataclass
class CheckedChunk:
    """A chunk as the reading process hands it over.

    Attributes:
        rows: data records in the chunk.
        first_row: the spreadsheet row number of its first record.
        outcome: its validation (without the valid rows' values when the pass saves nothing).
        rejected: the invalid records as the file has them.
        carried: when the file is an error report and the pass saves, the row numbers its
            ``row`` column gives the valid records (the rows of the report's job they carry).
        progress: the import's progress (percent) once this chunk is done.
        read: the share of the file's bytes read once this chunk is done (0 to 1).
        seconds: time the reading process spent parsing and validating it, per stage.
    """

    rows: int
    first_row: int
    outcome: ChunkOutcome
    rejected: list[Rejection]
    carried: list[int]
    progress: int
    read: float
    seconds: dict[str, float]


class ImportRun:
    """The chunk loop of one planned attempt."""

    def __init__(
        self, plan: ImportPlan, session: Session, sink: ImportSink, parsing_seconds: float
    ) -> None:
        self.plan = plan
        self.request = plan.request
        self.session = session
        self.sink = sink
        self.checkpoint = plan.resume
        self.counters = replace(plan.resume.counters) if plan.resume else Counters()
        self.own = {
            stage: float(self.request.stage_seconds.get(stage, 0.0)) for stage in TIMED_STAGES
        }
        self.own["parsing"] += parsing_seconds
        self.background = dict.fromkeys(TIMED_STAGES, 0.0)  # the reading process's share
        self.stage, self.percent = "parsing", 0
        self.rows_done = plan.resume.rows_done if plan.resume else 0
        self.estimated_rows: int | None = None
        self.notes: dict[str, ColumnNotes] = {}  # what reading the columns found
        self.unread: dict[int, UnreadColumn] = {}  # columns no field reads, with values

    def run(self) -> str:
        """Run every pass left; returns ``completed`` or ``canceled``.

        Raises:
            ImportFailed: the file has no data rows, or (all-or-nothing) invalid rows.
        """
        self._record()
        self.sink.commit()
        for plan_pass in self.plan.passes:
            if self._pass(plan_pass) == CANCELED:
                return CANCELED
            if (
                plan_pass.phase == VALIDATE
                and self.request.mode == "all_or_nothing"
                and self.counters.invalid
            ):
                self._finalise(rejected=True)
                raise ImportFailed(
                    f"{self.counters.invalid:,} of {self.counters.total:,} rows are invalid, so "
                    "nothing was saved (all-or-nothing mode). Download the error report, fix "
                    "those rows and upload the file again.",
                    INVALID_ROWS,
                )
        if self.counters.total == 0:
            raise ImportFailed(
                f"{self.request.filename} has a header row but no data rows.", EMPTY_FILE
            )
        self._finalise(rejected=False)
        return COMPLETED

    # -- one pass ----------------------------------------------------------------------------

    def _pass(self, plan_pass: Pass) -> str:
        """Read the file once from its first row not done: validate, and in a write pass,
        save; returns ``completed`` or ``canceled``."""
        collect = plan_pass.phase == VALIDATE or self.request.mode == "partial"
        self.stage, self.rows_done = "validating" if collect else "saving", plan_pass.skip_rows
        self._record()
        self.sink.commit()
        seen = self._seen_keys(plan_pass.skip_rows) if collect else None
        upserter = None
        if plan_pass.phase == WRITE:
            upserter = Upserter(
                self.request.schema,
                self.request.organisation_id,
                self.request.job_id,
                list(self.plan.mapping.positions),
                self.session,
                log_changes=self.request.change_log,
            )
        self.stage = plan_pass.stage
        checked_chunks = Prefetcher(self._checked(plan_pass, seen, saving=upserter is not None))
        try:
            # The cancel is looked up once the next chunk is in hand, so that no transaction
            # stays open while the reading process works.
            while (checked := next(checked_chunks, None)) is not None:
                if self.sink.cancel_requested():
                    return CANCELED
                self._take(checked, plan_pass, collect, upserter)
            return COMPLETED
        finally:
            checked_chunks.close()

    def _seen_keys(self, rows_done: int) -> SeenKeys:
        """The natural keys of the rows an earlier attempt did (duplicates are found across
        the whole file)."""
        seen = SeenKeys()
        remaining = rows_done
        for chunk in self.plan.reader.chunks(self.request.chunk_rows) if remaining else ():
            self.request.edits.apply(chunk.frame, chunk.first_row)
            frame = chunk.frame.iloc[:remaining]
            claim_keys(self.request.schema, self.plan.mapping, frame, seen)
            remaining -= len(frame)
            if remaining <= 0:
                break
        return seen

    def _checked(
        self, plan_pass: Pass, seen: SeenKeys | None, *, saving: bool
    ) -> Iterator[CheckedChunk]:
        """Read and validate chunks (runs in the reading process: no database access)."""
        reader, request = self.plan.reader, self.request
        chunks = reader.chunks(request.chunk_rows, skip_rows=plan_pass.skip_rows)
        span = plan_pass.high - plan_pass.low
        report = saving and bool(report_columns(self.plan.layout.headers))
        while True:
            seconds = dict.fromkeys(("parsing", "validating"), 0.0)
            tick = time.monotonic()
            chunk = next(chunks, None)
            tick = _timed(seconds, "parsing", tick)
            if chunk is None:
                return
            request.edits.apply(chunk.frame, chunk.first_row)
            outcome = validate_chunk(request.schema, self.plan.mapping, chunk.frame, seen)
            if not saving:
                outcome = replace(outcome, columns={})
            rejected = chunk_rejections(
                request.schema, self.plan.layout, chunk.frame, chunk.first_row, outcome
            )
            carried = reported_rows(chunk.frame, outcome.invalid_positions) if report else []
            _timed(seconds, "validating", tick)
            read = reader.progress()
            yield CheckedChunk(
                len(chunk.frame),
                chunk.first_row,
                outcome,
                rejected,
                carried,
                plan_pass.low + int(span * read),
                read,
                seconds,
            )
            gc.collect(1)  # the reading process's share of the per-chunk collection

    def _take(
        self, checked: CheckedChunk, plan_pass: Pass, collect: bool, upserter: Upserter | None
    ) -> None:
        """Count one chunk, keep its rejected rows (when the pass collects them) and save its
        valid rows; commit it with its checkpoint."""
        tick = time.monotonic()
        for background_stage, seconds in checked.seconds.items():
            self.background[background_stage] += seconds
        if collect:
            outcome = checked.outcome
            merge_notes(self.notes, outcome.notes)
            merge_unread(self.unread, outcome.unread)
            self._count_validation(outcome, checked.rows)
            if checked.rejected:
                self.sink.reject(Rejections(self.plan.layout, checked.rejected))
        if upserter is not None:
            saved = self._save(upserter, checked)
            self.counters.inserted += saved.inserted
            self.counters.updated += saved.updated
            self.counters.unchanged += saved.unchanged
            if checked.carried:
                self.sink.carried(checked.carried)
        self.rows_done += checked.rows
        self.percent = checked.progress
        if 0 < checked.read < 1:  # at the end the rows are counted instead
            self.estimated_rows = round(self.rows_done / checked.read)
        self.checkpoint = Checkpoint(plan_pass.phase, self.rows_done, replace(self.counters))
        self._record()
        self.sink.commit()
        gc.collect(1)  # the chunk's reference cycles, if any (see collector_paused)
        _timed(self.own, "saving" if upserter else "validating", tick)

    @staticmethod
    def _save(upserter: Upserter, checked: CheckedChunk) -> Saved:
        """Upsert the chunk's valid rows; a value the database refuses fails the import
        (input that validation let through is still input: retrying cannot help)."""
        try:
            return upserter.save(checked.outcome.columns, checked.outcome.valid)
        except ValueRefused as exc:
            last_row = checked.first_row + checked.rows - 1
            raise ImportFailed(
                f"The database refused a value in rows {checked.first_row:,}–{last_row:,} "
                f"({exc}). The rows before them were saved. Check those rows for unusual "
                "characters or sizes and upload the file again.",
                VALUE_REFUSED,
            ) from exc

    def _count_validation(self, outcome: ChunkOutcome, rows: int) -> None:
        c = self.counters
        c.total += rows
        c.valid += outcome.valid
        c.invalid += len(outcome.invalid_positions)
        c.duplicates += outcome.duplicates

    # -- recording ---------------------------------------------------------------------------

    def _record(self, *, rejected: bool = False) -> None:
        """Hand the current state to the sink (committed by the caller)."""
        self.sink.record(
            Progress(
                stage=self.stage,
                percent=min(self.percent, 99),
                rows_done=self.rows_done,
                counters=replace(self.counters),
                stage_seconds=self._stage_seconds(),
                warnings=[
                    *self.plan.mapping.warnings,
                    *unnamed_warnings(self.plan.reader.headers, self.unread),
                    *reading_warnings(self.request.schema, self.notes),
                ],
                checkpoint=self.checkpoint,
                rejected=rejected,
                estimated_rows=self.estimated_rows,
            )
        )

    def _stage_seconds(self) -> dict[str, float]:
        """Seconds per stage over every attempt; reading and validating overlap saving."""
        return {stage: round(self.own[stage] + self.background[stage], 3) for stage in TIMED_STAGES}

    def _finalise(self, *, rejected: bool) -> None:
        """Record the final figures."""
        tick = time.monotonic()
        self.stage, self.percent = "finalizing", max(self.percent, FINALIZING_PERCENT)
        self.rows_done, self.checkpoint = self.counters.total, None
        _timed(self.own, "finalizing", tick)
        self._record(rejected=rejected)
        self.sink.commit()


def _timed(timings: dict[str, float], stage: str, since: float) -> float:
    """Add the time since ``since`` to ``stage``; returns now."""
    now = time.monotonic()
    timings[stage] += now - since
    return now


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collection for the duration of an import.

    A chunk allocates hundreds of thousands of short-lived containers (a list per spreadsheet
    row, a tuple per database row), which set off collections that walk the whole heap, the
    application's objects included: reading and validating took a third longer with them.
    Reference counting still frees those containers; the import process and its reading
    process each collect the young generations once per chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_file(request: ImportRequest, session: Session, sink: ImportSink) -> str:
    """Run one attempt at ``request``; returns ``completed`` or ``canceled``.

    ``session`` carries the rows' transaction; ``sink`` records each step and ends each
    transaction.

    Raises:
        ImportFailed: the file cannot be imported (the message is for the user).
    """
    with collector_paused():
        started = time.monotonic()
        plan = plan_import(request)
        return ImportRun(plan, session, sink, time.monotonic() - started).run()
