"""One attempt at an import: claim the job, run the pipeline, record how it went.

Each attempt claims its job by raising the job's attempt number (``ImportJob.start_attempt``)
and every commit of the attempt checks that the number is still its own. So an attempt whose
worker was given up for dead (it reappeared after a network partition, say) stops at its
next chunk instead of writing beside the attempt that took over.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, cast

from flask import current_app
from sqlalchemy import Table, select, update

from ..entities import UnknownEntity, get_entity
from ..extensions import db
from ..ingest.errors import WRONG_TYPE, ImportFailed, ImportSuperseded
from ..ingest.pipeline import import_file
from ..ingest.progress import Checkpoint, ImportRequest, Progress
from ..ingest.report import report_path
from ..models import COMPLETED, FAILED, ImportJob, ImportStatus, rows_matched
from .lifecycle import discard_failed_transaction
from .state import job_state

if TYPE_CHECKING:
    from .state import JobState

log = logging.getLogger(__name__)


class JobRecorder:
    """The pipeline's sink: records each step on the job, commits only as its attempt."""

    def __init__(self, job: ImportJob, attempt: int) -> None:
        self.job = job
        self.attempt = attempt
        self.report_path = report_path(current_app.config["REPORT_DIR"], job.id)

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
            report_path=str(self.report_path) if progress.report_written else None,
            rejected=progress.rejected,
            estimated_rows=progress.estimated_rows,
        )

    def commit(self) -> None:
        """Commit if the job is still this attempt's, else roll back.

        Raises:
            ImportSuperseded: a later attempt claimed the job.
        """
        # A model declared with __tablename__ is mapped to a Table (typed as any FromClause).
        import_jobs = cast(Table, ImportJob.__table__)
        still_ours = rows_matched(
            db.session(),
            (
                update(import_jobs)
                .where(ImportJob.id == self.job.id, ImportJob.attempts == self.attempt)
                .values(attempts=self.attempt)
            ),
        )
        if not still_ours:
            db.session.rollback()
            raise ImportSuperseded(self.job.id)
        db.session.commit()

    def cancel_requested(self) -> bool:
        """Whether someone asked to cancel the import (read afresh from the database)."""
        return bool(
            db.session.scalar(select(ImportJob.cancel_requested).where(ImportJob.id == self.job.id))
        )


def run_import(job_id: str) -> JobState | None:
    """Run an attempt at the import of ImportJob ``job_id`` and record how it ended.

    A job that ran before resumes from its checkpoint. Bad input fails the job with a message
    for the user and returns normally (retrying cannot help); a cancel request stops it at
    the next chunk boundary. Any other error is re-raised, after rolling back, for the caller
    to record (``lifecycle.record_attempt_failure``) and retry. A job that already completed
    or was canceled is left as it is.
    """
    job = db.session.get(ImportJob, job_id)
    if job is None:
        log.error("import job %s does not exist (deleted?); nothing to run", job_id)
        return None
    if job.is_finished and job.status != FAILED:
        return job_state(job)
    attempt = job.start_attempt()
    if attempt is None:
        log.warning("import %s was claimed by another attempt meanwhile; leaving it to it", job_id)
        return job_state(job)
    recorder = JobRecorder(job, attempt)
    started = time.monotonic()
    try:
        outcome = import_file(import_request(job), db.session(), recorder)
        job.finish(ImportStatus(outcome), time.monotonic() - started)
        recorder.commit()
    except ImportSuperseded:
        discard_failed_transaction()
        log.warning(
            "import %s, attempt %d, stopped: a later attempt took the job over", job_id, attempt
        )
        return job_state(job)
    except (ImportFailed, UnknownEntity) as exc:
        db.session.rollback()
        kind = exc.kind if isinstance(exc, ImportFailed) else WRONG_TYPE
        job.fail(str(exc), seconds=time.monotonic() - started, kind=kind)
        recorder.commit()
    except Exception:
        discard_failed_transaction()
        raise
    # A completed import has no further use for its upload; a failed or canceled one keeps it
    # for retry until the clean-up (JOB_RETENTION_HOURS) removes it.
    if job.status == COMPLETED and job.stored_path:
        Path(job.stored_path).unlink(missing_ok=True)
    return job_state(job)


def import_request(job: ImportJob) -> ImportRequest:
    """What the pipeline needs to know of ``job`` for this attempt."""
    config = current_app.config
    return ImportRequest(
        job_id=job.id,
        organisation_id=job.organisation_id,
        schema=get_entity(job.entity_type),
        path=Path(job.stored_path or ""),
        filename=job.original_filename,
        mode=job.mode,
        chunk_rows=config["IMPORT_CHUNK_ROWS"],
        report_path=report_path(config["REPORT_DIR"], job.id),
        checkpoint=Checkpoint.restore(job.checkpoint),
        stage_seconds={
            stage: float(seconds) for stage, seconds in (job.stage_timings or {}).items()
        },
    )
