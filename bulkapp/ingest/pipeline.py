"""The import pipeline: read chunks → map → validate → persist → report, resumable per chunk.

Each chunk's rows are committed together with the job's progress and checkpoint, in one
transaction. A run that finds a checkpoint skips the rows already done, truncates the error
report to its checkpointed length and carries on with the counters it had.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
from sqlalchemy import select

from ..entities import EntitySchema
from ..extensions import db
from ..models import CANCELED, COMPLETED, ImportJob
from .errors import ImportFailed
from .mapping import ColumnMapping, header_scorer, map_headers
from .persist import Saved, Upserter, ValueRefused, prepare_connection
from .prefetch import Prefetcher
from .readers import Reader, open_reader
from .report import ErrorReport, report_path
from .validate import ChunkOutcome, SeenKeys, claim_keys, validate_chunk

STOPPED = "stopped"  # only with max_chunks: the run ended as if its process had died
VALIDATE, WRITE = "validate", "write"
TIMED_STAGES = ("parsing", "validating", "saving", "finalizing")

# Per mode: the passes over the file, each with the progress range (percent) it covers.
PASSES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "partial": ((WRITE, 2, 97),),
    "validate_only": ((VALIDATE, 2, 97),),
    "all_or_nothing": ((VALIDATE, 2, 50), (WRITE, 50, 97)),
}


@dataclass
class Counters:
    """Row counts of one job, carried across chunks, passes and resumed runs."""

    total: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @classmethod
    def restore(cls, saved: dict) -> Counters:
        """Counters from a checkpoint's dict (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in saved.items() if k in names})


@dataclass
class CheckedChunk:
    """A chunk as the reading process hands it over.

    Attributes:
        rows: data records in the chunk.
        first_row: the spreadsheet row number of its first record.
        outcome: its validation (without the valid rows' values when the pass saves nothing).
        rejected: the raw cells of the invalid records, indexed by position in the chunk.
        progress: the job's progress (percent) once this chunk is done.
        seconds: time the reading process spent parsing and validating it, per stage.
    """

    rows: int
    first_row: int
    outcome: ChunkOutcome
    rejected: pd.DataFrame
    progress: int
    seconds: dict[str, float]


class ImportRun:
    """One attempt at importing one job's file."""

    def __init__(self, job: ImportJob, schema: EntitySchema, path: Path, *, chunk_rows: int,
                 report_dir: str, commit: Callable[[], None]) -> None:
        self.job = job
        self.commit = commit
        self.job_id = job.id
        self.schema = schema
        self.path = path
        self.chunk_rows = chunk_rows
        self.report_file = report_path(report_dir, job.id)
        self.checkpoint = dict(job.checkpoint or {})
        self.counters = Counters.restore(self.checkpoint.get("counters", {}))
        saved_timings = job.stage_timings or {}
        self.timings = {stage: float(saved_timings.get(stage, 0.0)) for stage in TIMED_STAGES}
        self.background = dict.fromkeys(TIMED_STAGES, 0.0)  # the reading process's share
        self.reader: Reader | None = None
        self.mapping: ColumnMapping | None = None
        self.headers: list[str] = []
        self.chunks_left: int | None = None

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _timed(timings: dict[str, float], stage: str, since: float) -> float:
        now = time.monotonic()
        timings[stage] += now - since
        return now

    def _stage_timings(self) -> dict[str, float]:
        """Seconds per stage over every attempt; reading and validating overlap saving."""
        return {stage: round(self.timings[stage] + self.background[stage], 3)
                for stage in TIMED_STAGES}

    def _cancel_requested(self) -> bool:
        return bool(db.session.scalar(
            select(ImportJob.cancel_requested).where(ImportJob.id == self.job_id)))

    def _write_counts(self, *, rows_done: int, rejected: bool = False) -> None:
        """Put the counters on the job, as columns and as the two stats dicts."""
        job, c = self.job, self.counters
        job.total_rows, job.processed_rows = c.total, rows_done
        job.valid_rows, job.invalid_rows = c.valid, c.invalid
        job.inserted_rows, job.updated_rows, job.unchanged_rows = c.inserted, c.updated, c.unchanged
        job.validation_stats = {"total": c.total, "valid": c.valid, "invalid": c.invalid,
                                "duplicates": c.duplicates, "warnings": len(job.warnings or [])}
        job.database_stats = {"inserted": c.inserted, "updated": c.updated,
                              "unchanged": c.unchanged, "failed": c.valid if rejected else 0}
        job.stage_timings = self._stage_timings()

    def _record(self, *, stage: str, progress: int, rows_done: int, phase: str,
                report_bytes: int) -> None:
        """Put counts, progress and the checkpoint on the job (committed by the caller)."""
        self.job.stage, self.job.progress = stage, min(progress, 99)
        self._write_counts(rows_done=rows_done)
        if self.counters.invalid:
            self.job.report_path = str(self.report_file)
        self.checkpoint = {"phase": phase, "rows_done": rows_done,
                           "counters": asdict(self.counters), "report_bytes": report_bytes}
        self.job.checkpoint = dict(self.checkpoint)

    # -- the run ---------------------------------------------------------------------------

    def execute(self, max_chunks: int | None = None) -> str:
        """Run every pass of the job's mode; returns COMPLETED, CANCELED or STOPPED.

        Args:
            max_chunks: stop (as if the process died) after this many committed chunks.
        """
        started = time.monotonic()
        self.chunks_left = max_chunks
        prepare_connection()
        # One reader for the whole run: each chunks() call reads the file from its start.
        self.reader = open_reader(self.path, self.job.original_filename,
                                  header_score=header_scorer(self.schema))
        self.headers = list(self.reader.headers)
        self.mapping = map_headers(self.schema, self.headers)
        self.job.warnings = list(self.mapping.warnings)
        self._timed(self.timings, "parsing", started)
        self.commit()

        passes = PASSES[self.job.mode]
        resume_phase = self.checkpoint.get("phase")
        if resume_phase and resume_phase not in [p for p, _, _ in passes]:
            resume_phase = None
        for phase, low, high in passes:
            if resume_phase == WRITE and phase == VALIDATE:
                continue
            skip = int(self.checkpoint.get("rows_done", 0)) if phase == resume_phase else 0
            outcome = self._pass(phase, low, high, skip)
            if outcome != COMPLETED:
                return outcome
            resume_phase = None
            if phase == VALIDATE and self.job.mode == "all_or_nothing" and self.counters.invalid:
                self._finalise(rejected=True)
                raise ImportFailed(
                    f"{self.counters.invalid:,} of {self.counters.total:,} rows are invalid, so "
                    "nothing was saved (all-or-nothing mode). Download the error report, fix "
                    "those rows and upload the file again.")
        if self.counters.total == 0:
            raise ImportFailed(f"{self.job.original_filename} has a header row but no data rows.")
        self._finalise(rejected=False)
        return COMPLETED

    def _rebuild_seen(self, rows_done: int) -> SeenKeys:
        seen = SeenKeys()
        remaining = rows_done
        for chunk in self.reader.chunks(self.chunk_rows):
            if remaining <= 0:
                break
            frame = chunk.frame.iloc[:remaining]
            claim_keys(self.schema, self.mapping, frame, seen)
            remaining -= len(frame)
        return seen

    def _checked(self, reader: Reader, skip: int, seen: SeenKeys | None, low: int, high: int,
                 *, saving: bool) -> Iterator[CheckedChunk]:
        """Read and validate chunks (runs in the reading process: no database access)."""
        chunks = reader.chunks(self.chunk_rows, skip_rows=skip)
        while True:
            seconds = dict.fromkeys(("parsing", "validating"), 0.0)
            tick = time.monotonic()
            chunk = next(chunks, None)
            tick = self._timed(seconds, "parsing", tick)
            if chunk is None:
                return
            outcome = validate_chunk(self.schema, self.mapping, chunk.frame, seen)
            if not saving:
                outcome = replace(outcome, columns={})
            self._timed(seconds, "validating", tick)
            yield CheckedChunk(len(chunk.frame), chunk.first_row, outcome,
                               chunk.frame.iloc[outcome.invalid_positions],
                               low + int((high - low) * reader.progress()), seconds)
            gc.collect(1)  # the reading process's share of the per-chunk collection

    def _pass(self, phase: str, low: int, high: int, skip: int) -> str:
        """Read the file once from row ``skip``: validate, and in a write pass, save."""
        collect = phase == VALIDATE or self.job.mode == "partial"
        stage = "validating" if phase == VALIDATE else "saving"
        self.job.stage = "validating" if collect else "saving"
        self.commit()
        report = None
        if collect:
            report = ErrorReport(self.report_file, self.headers,
                                 int(self.checkpoint.get("report_bytes", 0)) if skip else 0)
        seen = (self._rebuild_seen(skip) if skip else SeenKeys()) if collect else None
        upserter = None
        if phase == WRITE:
            upserter = Upserter(self.schema, self.job.organisation_id, self.job_id,
                                list(self.mapping.positions))
        rows_done = skip
        checked_chunks = Prefetcher(self._checked(self.reader, skip, seen, low, high,
                                                  saving=upserter is not None))
        try:
            while True:
                if self._cancel_requested():
                    return CANCELED
                if self.chunks_left is not None and self.chunks_left <= 0:
                    return STOPPED
                checked = next(checked_chunks, None)
                if checked is None:
                    return COMPLETED
                tick = time.monotonic()
                outcome = checked.outcome
                for background_stage, seconds in checked.seconds.items():
                    self.background[background_stage] += seconds
                if collect:
                    self._count_validation(outcome, checked.rows)
                    report.add(checked.rejected, checked.first_row, outcome.invalid_positions,
                               outcome.errors)
                if upserter is not None:
                    saved = self._save(upserter, checked)
                    self.counters.inserted += saved.inserted
                    self.counters.updated += saved.updated
                    self.counters.unchanged += saved.unchanged
                rows_done += checked.rows
                report_bytes = report.flush() if report else self.checkpoint.get("report_bytes", 0)
                self._record(stage=stage, progress=checked.progress, rows_done=rows_done,
                             phase=phase, report_bytes=report_bytes)
                self.commit()
                gc.collect(1)  # the chunk's reference cycles, if any (see _collector_paused)
                self._timed(self.timings, "saving" if upserter else "validating", tick)
                if self.chunks_left is not None:
                    self.chunks_left -= 1
        finally:
            checked_chunks.close()
            if report is not None:
                report.close()

    @staticmethod
    def _save(upserter: Upserter, checked: CheckedChunk) -> Saved:
        """Upsert the chunk's valid rows; a value the database refuses fails the job (input
        that validation let through is still input: retrying cannot help)."""
        try:
            return upserter.save(checked.outcome.columns, checked.outcome.valid)
        except ValueRefused as exc:
            last_row = checked.first_row + checked.rows - 1
            raise ImportFailed(
                f"The database refused a value in rows {checked.first_row:,}–{last_row:,} "
                f"({exc}). The rows before them were saved. Check those rows for unusual "
                "characters or sizes and upload the file again.") from exc

    def _count_validation(self, outcome: ChunkOutcome, rows: int) -> None:
        c = self.counters
        c.total += rows
        c.valid += outcome.valid
        c.invalid += len(outcome.invalid_positions)
        c.duplicates += outcome.duplicates

    def _finalise(self, *, rejected: bool) -> None:
        """Record the final statistics; keep the error report only when it has rows."""
        tick = time.monotonic()
        job, c = self.job, self.counters
        job.stage, job.progress = "finalizing", max(job.progress or 0, 97)
        if c.invalid:
            job.report_path = str(self.report_file)
        else:
            self.report_file.unlink(missing_ok=True)
            job.report_path = None
        job.checkpoint = {}
        self._timed(self.timings, "finalizing", tick)
        self._write_counts(rows_done=c.total, rejected=rejected)
        self.commit()


@contextmanager
def _collector_paused() -> Iterator[None]:
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


def import_file(job: ImportJob, schema: EntitySchema, path: Path, *, chunk_rows: int,
                report_dir: str, commit: Callable[[], None] | None = None,
                max_chunks: int | None = None) -> str:
    """Import ``path`` for ``job``; returns ``completed``, ``canceled`` or ``stopped``.

    Every transaction of the run (each chunk's rows with the job's progress and checkpoint)
    ends with ``commit`` (default: a plain commit of the session).

    Raises:
        ImportFailed: the file cannot be imported (the message is for the user).
    """
    with _collector_paused():
        return ImportRun(job, schema, path, chunk_rows=chunk_rows, report_dir=report_dir,
                         commit=commit or db.session.commit).execute(max_chunks)
