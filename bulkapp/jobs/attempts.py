"""One attempt at an import: claim the job, run the pipeline, record how it went.

Each attempt claims its job by raising the job's attempt number (``ImportJob.start_attempt``)
and every commit of the attempt checks that the number is still its own. So an attempt whose
worker was given up for dead (it reappeared after a network partition, say) stops at its
next chunk instead of writing beside the attempt that took over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, cast

from flask import current_app
from sqlalchemy import Table, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..entities import UnknownEntity, get_entity
from ..extensions import db
from ..ingest.analysis import AnalysisRequest, analyse_file
from ..ingest.errors import WRONG_TYPE, ImportFailed, ImportSuperseded
from ..ingest.pipeline import import_file
from ..ingest.progress import Checkpoint, ImportRequest, Progress
from ..ingest.rejected import FileLayout, Rejection, Rejections, RowEdits
from ..models import (
    ANALYSIS,
    CANCELED,
    COMPLETED,
    FAILED,
    IMPORT,
    PROCESSING,
    QUEUED,
    UNDO,
    ImportJob,
    ImportStatus,
    ReviewPolicy,
    User,
    rows_matched,
)
from ..records.undo import UndoProgress, run_undo, start_undo
from ..storage import UPLOADS, attempt_workspace, delete_stored, store_holding
from .attempt_sessions import attempt_transactions
from .lifecycle import discard_failed_transaction
from .mappings import mapping_lookup, remember_mapping
from .predictions import (
    begin_predictions,
    count_predictions,
    forget_predictions,
    keep_predictions,
    review_edits,
    unindex_predictions,
)
from .queues import queue_name_for
from .rejections import keep_rejections, mark_carried
from .state import job_state

if TYPE_CHECKING:
    from .state import JobState

log = logging.getLogger(__name__)


class JobRecorder:
    """The pipeline's sink: records each step and each chunk's rejected rows on the job, and
    commits only as its attempt."""

    def __init__(self, job: ImportJob, attempt: int) -> None:
        self.job = job
        self.attempt = attempt

    def record(self, progress: Progress) -> None:
        """Put ``progress`` on the job (``ImportJob.record_progress``)."""
        self.job.record_progress(
            stage=progress.stage,
            percent=progress.percent,
            rows_done=progress.rows_done,
            counts=asdict(progress.counters),
            stage_seconds=progress.stage_seconds,
            warnings=progress.warnings,
            checkpoint=progress.checkpoint.to_dict() if progress.checkpoint else {},
            rejected=progress.rejected,
            estimated_rows=progress.estimated_rows,
        )

    def reject(self, rejections: Rejections) -> None:
        """Keep the chunk's rejected rows for the job (``rejections.keep_rejections``)."""
        keep_rejections(self.job, rejections)

    def carried(self, rows: list[int]) -> None:
        """A follow-up's imported rows of its original are sent
        (``rejections.mark_carried``); other imports carry no job's rows."""
        if self.job.fixes_job_id is not None:
            mark_carried(self.job.fixes_job_id, rows)

    def commit(self) -> None:
        """Commit if the job is still this attempt's, else roll back.

        Raises:
            ImportSuperseded: a later attempt claimed the job.
        """
        commit_as_attempt(self.job, self.attempt)

    def cancel_requested(self) -> bool:
        """Whether someone asked to cancel the import (read afresh from the database)."""
        return bool(
            db.session.scalar(select(ImportJob.cancel_requested).where(ImportJob.id == self.job.id))
        )


def commit_as_attempt(job: ImportJob, attempt: int) -> None:
    """Commit if ``job`` is still attempt ``attempt``'s, else roll back.

    Raises:
        ImportSuperseded: a later attempt claimed the job.
    """
    # A model declared with __tablename__ is mapped to a Table (typed as any FromClause).
    import_jobs = cast(Table, ImportJob.__table__)
    still_ours = rows_matched(
        db.session(),
        (
            update(import_jobs)
            .where(ImportJob.id == job.id, ImportJob.attempts == attempt)
            .values(attempts=attempt)
        ),
    )
    if not still_ours:
        db.session.rollback()
        raise ImportSuperseded(job.id)
    db.session.commit()


class AnalysisRecorder:
    """The analysis's sink: records how far it read, committing only as its attempt."""

    def __init__(self, recorder: JobRecorder) -> None:
        self.recorder = recorder

    def record(self, percent: int, rows_done: int) -> None:
        """Put the progress on the job and commit it."""
        self.recorder.job.record_analysis(percent=percent, rows_done=rows_done)
        self.recorder.commit()

    def cancel_requested(self) -> bool:
        """Whether someone asked to cancel the job."""
        return self.recorder.cancel_requested()

    def predicting(self, layout: FileLayout) -> RowEdits:
        """Forget the last dry run's rows (``predictions.begin_predictions``)."""
        return begin_predictions(self.recorder.job, layout)

    def predict(self, rejections: Rejections, edited: list[Rejection]) -> None:
        """Keep a chunk's predicted rows (``predictions.keep_predictions``)."""
        keep_predictions(self.recorder.job, rejections, edited)


def run_import(job_id: str) -> JobState | None:
    """Run an attempt at the import of ImportJob ``job_id`` (or at its analysis, in the
    analysis phase) and record how it ended.

    A job that ran before resumes from its checkpoint. An analysis that may go on without a
    review (its policy and a certain mapping allow it) runs the import straight after. Bad
    input fails the job with a message for the user and returns normally (retrying cannot
    help); a cancel request stops it at the next chunk boundary. Any other error is
    re-raised, after rolling back, for the caller to record
    (``lifecycle.record_attempt_failure``) and retry. A job that already completed or was
    canceled is left as it is.
    """
    job = db.session.get(ImportJob, job_id)
    if job is None:
        log.error("import job %s does not exist (deleted?); nothing to run", job_id)
        return None
    if job.is_finished and job.status != FAILED:
        return job_state(job)
    attempt = job.start_attempt()
    db.session.commit()  # the claim: from here on every commit checks it is still this attempt's
    if attempt is None:
        log.warning("import %s was claimed by another attempt meanwhile; leaving it to it", job_id)
        return job_state(job)
    started = time.monotonic()
    try:
        _run_attempt(job, attempt, started)
    except ImportSuperseded:
        discard_failed_transaction()
        return _superseded(job_id, attempt)
    except (ImportFailed, UnknownEntity) as exc:
        db.session.rollback()
        kind = exc.kind if isinstance(exc, ImportFailed) else WRONG_TYPE
        job.fail(str(exc), seconds=time.monotonic() - started, kind=kind)
        commit_as_attempt(job, attempt)
    except Exception:
        discard_failed_transaction()
        if taken_over(job_id, attempt):  # the fail-over ended its session
            return _superseded(job_id, attempt)
        raise
    # A completed import has no further use for its upload; a failed or canceled one keeps it
    # for retry until the clean-up (JOB_RETENTION_HOURS) removes it, and so does a dry run
    # with rejected rows: fixed on its fix page, the whole file is imported with the fixes.
    dry_run_to_fix = job.mode == "validate_only" and job.rejected_rows_kept > 0
    if job.status == COMPLETED and not dry_run_to_fix and delete_stored(job.stored_path, UPLOADS):
        db.session.commit()
    if job.status == QUEUED and job.phase == IMPORT:  # the analysis went straight on
        return run_import(job_id)
    return job_state(job)


def _run_attempt(job: ImportJob, attempt: int, started: float) -> None:
    """Analyse or import the job's file as attempt ``attempt``, in transactions named after
    it (``attempt_sessions``), and commit how it ended."""
    with attempt_transactions(db.session(), job.id, attempt):
        recorder = JobRecorder(job, attempt)
        if job.phase == UNDO:
            _undo(job, recorder, started)
        else:
            with attempt_upload(job) as upload:
                if job.phase == ANALYSIS:
                    _analyse(job, upload, recorder, started)
                else:
                    outcome = import_file(import_request(job, upload), db.session(), recorder)
                    job.finish(ImportStatus(outcome), time.monotonic() - started)
                    if outcome == COMPLETED:  # its own rejected rows replace the predicted
                        forget_predictions(job, index=False)
        recorder.commit()


def _superseded(job_id: str, attempt: int) -> JobState | None:
    """The state of an import whose attempt ``attempt`` was given up for dead, read anew: the
    session may have dropped the job with its broken connection."""
    log.warning(
        "import %s, attempt %d, stopped: a later attempt took the job over", job_id, attempt
    )
    job = db.session.get(ImportJob, job_id)
    return job_state(job) if job is not None else None


def taken_over(job_id: str, attempt: int) -> bool:
    """Whether attempt ``attempt`` at import ``job_id`` was given up for dead meanwhile: a
    later attempt claimed the job, or its end was recorded by another process (False when
    the database cannot say)."""
    try:
        latest = db.session.execute(
            select(ImportJob.attempts, ImportJob.status).where(ImportJob.id == job_id)
        ).one_or_none()
    except SQLAlchemyError:
        discard_failed_transaction()
        return False
    return latest is not None and (latest.attempts > attempt or latest.status != PROCESSING)


def _analyse(job: ImportJob, upload: Path, recorder: JobRecorder, started: float) -> None:
    """Analyse the job's file and record the analysis (or the cancel that stopped it); an
    analysis a person asked to import after (Import with a changed mapping) goes on to the
    import when it needs nobody, the mapping remembered as on any Import."""
    requested = (job.analysis or {}).get("import_requested")
    analysis = analyse_file(analysis_request(job, upload), db.session(), AnalysisRecorder(recorder))
    seconds = time.monotonic() - started
    if analysis is None:
        job.finish(CANCELED, seconds)
        return
    if job.queue_name is not None:  # the import runs on the queue of the type analysed
        job.queue_name = queue_name_for(
            analysis["entity_type"], job.user.role if job.user else "member"
        )
    job.entity_type = analysis["entity_type"]  # detected from the headers, or chosen
    analysis["predicted_rows"] = count_predictions(job) if analysis["counts"] else 0
    policy = job.review_policy
    import_now = analysis["certain"] and (
        policy in (ReviewPolicy.CERTAIN, ReviewPolicy.CONFIRMED)
        or (policy == ReviewPolicy.SAVED and job.saved_mapping_id is not None)
    )
    if requested:
        analysis["import_requested"] = requested
    job.finish_analysis(analysis, import_now=import_now, seconds=seconds)
    if import_now:  # the import indexes its own rejected rows
        unindex_predictions(job)
    if import_now and requested:
        remember_mapping(job, db.session.get(User, requested["by"]))


class UndoRecorder:
    """The undo's sink: records each step on the undo job, committing only as its attempt."""

    def __init__(self, recorder: JobRecorder) -> None:
        self.recorder = recorder

    def record(self, progress: UndoProgress) -> None:
        """Put ``progress`` on the job (``ImportJob.record_undo_progress``)."""
        self.recorder.job.record_undo_progress(
            percent=progress.percent,
            done=progress.done,
            total=progress.total,
            counts=progress.counts(),
            checkpoint=progress.to_dict(),
        )

    def commit(self) -> None:
        self.recorder.commit()

    def cancel_requested(self) -> bool:
        return self.recorder.cancel_requested()


def _undo(job: ImportJob, recorder: JobRecorder, started: float) -> None:
    """Undo the import ``job`` takes back, from its checkpoint, and record how it ended."""
    original = job.undoes
    if original is None:
        raise ImportFailed("The import this job was to undo is no longer on record.")
    session = db.session()
    progress = start_undo(session, original, job.checkpoint)
    chunk_rows = current_app.config["IMPORT_CHUNK_ROWS"]
    finished = run_undo(session, job.id, original, progress, chunk_rows, UndoRecorder(recorder))
    job.finish(COMPLETED if finished else CANCELED, time.monotonic() - started)


@contextmanager
def attempt_upload(job: ImportJob) -> Iterator[Path]:
    """The upload of ``job`` as a local file (copied out of the database store, chunk by
    chunk, into a workspace of this attempt); the copy is removed when the attempt ends."""
    with attempt_workspace() as workspace:
        upload = store_holding(job.stored_path or "", UPLOADS)
        with upload.local_copy(job.stored_path or "", workspace) as path:
            yield path


def import_request(job: ImportJob, upload: Path) -> ImportRequest:
    """What the pipeline needs to know of ``job`` for this attempt."""
    config = current_app.config
    return ImportRequest(
        job_id=job.id,
        organisation_id=job.organisation_id,
        schema=get_entity(job.entity_type),
        path=upload,
        filename=job.original_filename,
        mode=job.mode,
        chunk_rows=config["IMPORT_CHUNK_ROWS"],
        checkpoint=Checkpoint.restore(job.checkpoint),
        stage_seconds={
            stage: float(seconds) for stage, seconds in (job.stage_timings or {}).items()
        },
        mapping_for=mapping_lookup(job),
        edits=review_edits(job),
    )


def analysis_request(job: ImportJob, upload: Path) -> AnalysisRequest:
    """What the analysis needs to know of ``job``."""
    return AnalysisRequest(
        organisation_id=job.organisation_id,
        schema=get_entity(job.entity_type),
        path=upload,
        filename=job.original_filename,
        chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
        detect=job.detect_entity,
        mapping_for=mapping_lookup(job),
    )
