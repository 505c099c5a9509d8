"""ImportJob: the durable record of one upload and its processing, and the state machine that
is the only code changing an import's status or stage.

    queued ──start_attempt──► processing ──finish──► completed | canceled
      ▲  │                     │  │ ▲ record_progress / record_analysis
      │  └──cancel──► canceled │  └─┘
      │                        ├──fail──► failed ──requeue──► queued
      ├──────retry_later───────┤                  (canceled ──requeue──► queued)
      │                        └──finish_analysis──► needs_review ──cancel / expire──► canceled
      ├──────finish_analysis (certain mapping)──┘         │  │
      ├──────────────────commit_review─────────────────────┘  │
      └──────────────────reanalyse────────────────────────────┘

A job has a ``phase``: ``analysis`` (the worker reads the whole file and stores what an
import would do, storing nothing) or ``import``. An upload made for review starts in the
analysis phase; ``finish_analysis`` either stops at ``needs_review`` or, when the user
asked to import certain mappings straight away, queues the import itself. ``commit_review``
queues the import with the mapping the user chose; ``reanalyse`` runs the analysis again
with a changed mapping. An undo is a job of its own in the ``undo`` phase
(``undoes_job_id`` names the completed import it takes back): ``start_attempt``,
``record_undo_progress`` per step, then ``finish``, ``fail`` or ``retry_later`` as an
import. ``start_attempt`` also takes a job left ``processing`` by a worker
that died, and a ``failed`` one that ``rq requeue`` put back (in the phase it was in). Every
other move raises ``IllegalTransition``.
An import that ends (``finish``, ``fail``, ``cancel``) is announced to the ``on_ended``
listeners once the transaction that ended it commits (``unit_of_work.after_commit``; the job
system sends its e-mail and webhook then). No transition commits: the use case that makes
it does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CursorResult,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Update,
    func,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship

from ..extensions import Base
from ..unit_of_work import after_commit
from .accounts import Organisation, User, utcnow
from .saved_mapping import SavedMapping


class ImportStatus(StrEnum):
    """Where an import is in its life (what users and the API see)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    NEEDS_REVIEW = "needs_review"


class ImportPhase(StrEnum):
    """What the next run of a job does: analyse the file for review, or import it."""

    ANALYSIS = "analysis"
    IMPORT = "import"
    UNDO = "undo"  # take a completed import back (``undoes_job_id``)


class ReviewPolicy(StrEnum):
    """When an analysed file goes on to its import without waiting for a person."""

    ALWAYS = "always"  # never: the uploader asked to review it (the API's review=true)
    CERTAIN = "certain"  # when the mapping is certain ("import straight away" ticked)
    SAVED = "saved"  # when the mapping is certain and a saved mapping was applied
    # A person pressed Import with a changed mapping: when its analysis needs nobody.
    CONFIRMED = "confirmed"


class ImportStage(StrEnum):
    """What a processing import is doing, or why a queued one waits."""

    QUEUED = "queued"
    ANALYSING = "analysing"
    REVIEW = "review"
    PARSING = "parsing"
    VALIDATING = "validating"
    SAVING = "saving"
    FINALIZING = "finalizing"
    RETRYING = "retrying"
    UNDOING = "undoing"
    DONE = "done"


QUEUED, PROCESSING, COMPLETED, FAILED, CANCELED, NEEDS_REVIEW = ImportStatus
ANALYSIS, IMPORT, UNDO = ImportPhase
STATUSES = tuple(ImportStatus)
FINISHED_STATUSES = frozenset({COMPLETED, FAILED, CANCELED})
REVIEW_EXPIRED = (
    "Nobody finished the review of this file in time, so it was discarded and its upload "
    "removed. Upload the file again to import it."
)
WORKING_STAGES = frozenset(
    {ImportStage.PARSING, ImportStage.VALIDATING, ImportStage.SAVING, ImportStage.FINALIZING}
)

MODES = ("partial", "all_or_nothing", "validate_only")

# Called with the id of every import that ended, after the commit that ended it.
on_ended: list[Callable[[str], None]] = []


class IllegalTransition(Exception):
    """The import's status does not allow that move (a bug, or a race with another process)."""


def new_job_id() -> str:
    """A fresh job id (uuid4); letters, digits and ``-`` only, as RQ requires."""
    return str(uuid.uuid4())


def rows_matched(session: Session, statement: Update) -> int:
    """Run the UPDATE ``statement`` in ``session``; how many rows its WHERE clause matched."""
    # Session.execute is typed to return a Result; an UPDATE's is always a CursorResult.
    return cast(CursorResult[Any], session.execute(statement)).rowcount


class ImportJob(Base):
    """One uploaded file and everything known about its import."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_org_created", "organisation_id", "created_at"),
        Index("ix_import_jobs_status", "status"),
        Index("ix_import_jobs_fixes_job_id", "fixes_job_id"),
        # A repeated API upload with the same Idempotency-Key returns the first job.
        UniqueConstraint(
            "organisation_id", "user_id", "idempotency_key", name="uq_import_jobs_idempotency_key"
        ),
        # An import is undone at most once.
        Index("uq_import_jobs_undoes_job", "undoes_job_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_job_id)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entity_type: Mapped[str] = mapped_column(String(50))
    mode: Mapped[str] = mapped_column(String(20), default="partial")
    original_filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str | None] = mapped_column(String(500))
    file_size: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))

    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    stage: Mapped[str] = mapped_column(String(20), default=ImportStage.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    queue_name: Mapped[str | None] = mapped_column(String(100))
    rq_job_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)

    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    valid_rows: Mapped[int] = mapped_column(default=0)
    invalid_rows: Mapped[int] = mapped_column(default=0)
    inserted_rows: Mapped[int] = mapped_column(default=0)
    updated_rows: Mapped[int] = mapped_column(default=0)
    unchanged_rows: Mapped[int] = mapped_column(default=0)

    validation_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    database_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stage_timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The error report file of an import from before rejected rows were kept in the
    # database (``rejected_rows``); new imports leave it None.
    report_path: Mapped[str | None] = mapped_column(String(500))
    # How many rejected rows of the import are kept (the error report and the fix page are
    # built from them; the clean-up deletes them and sets 0), and how the file's columns were
    # read (``ingest.rejected.FileLayout``): how their cells are read again.
    rejected_rows_kept: Mapped[int] = mapped_column(default=0)
    file_layout: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A follow-up job made of rejected rows fixed on the fix page: the job they came from.
    fixes_job_id: Mapped[str | None] = mapped_column(
        ForeignKey("import_jobs.id", name="fk_import_jobs_fixes_job_id")
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    error_traceback: Mapped[str | None] = mapped_column(Text)
    # Why the last attempt failed (``bulkapp.jobs.failures``): decides retry or a new file.
    failure_kind: Mapped[str | None] = mapped_column(String(30))
    # The file's row count estimated from the bytes read so far, until it is counted.
    estimated_rows: Mapped[int | None] = mapped_column()
    processing_duration_ms: Mapped[int | None] = mapped_column()

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # When the "import finished" e-mail and webhook were handed to the notifications queue;
    # a finished job without it is notified by the next maintenance run (Redis was away).
    notified_at: Mapped[datetime | None] = mapped_column()

    # Review before commit: the phase the next run is in, when the analysis may go on to the
    # import without a person (a ReviewPolicy), whether the entity type is to be detected,
    # what the analysis found, the mapping chosen (MappingChoice JSON) and the saved mapping
    # it came from.
    phase: Mapped[str] = mapped_column(String(20), default=IMPORT)
    review_policy: Mapped[str] = mapped_column(String(20), default=ReviewPolicy.ALWAYS)
    detect_entity: Mapped[bool] = mapped_column(default=False)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    saved_mapping_id: Mapped[int | None] = mapped_column(
        ForeignKey("saved_mappings.id", ondelete="SET NULL")
    )
    # An undo (phase ``undo``): the completed import it takes back (job rows are never
    # deleted: they are the audit trail).
    undoes_job_id: Mapped[str | None] = mapped_column(ForeignKey("import_jobs.id"))

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User | None] = relationship()
    saved_mapping: Mapped[SavedMapping | None] = relationship()
    undoes: Mapped[ImportJob | None] = relationship(
        remote_side="ImportJob.id", foreign_keys="ImportJob.undoes_job_id"
    )
    undone_by: Mapped[ImportJob | None] = relationship(
        foreign_keys="ImportJob.undoes_job_id", uselist=False, viewonly=True
    )

    @property
    def is_finished(self) -> bool:
        """True once the job is completed, failed or canceled."""
        return self.status in FINISHED_STATUSES

    # -- the state machine ---------------------------------------------------------------------

    def _require(self, transition: str, allowed: Iterable[ImportStatus]) -> None:
        if self.status not in set(allowed):
            raise IllegalTransition(f"{transition}: import {self.id} is {self.status}")

    def _announce_end(self) -> None:
        session = object_session(self)
        if session is not None:
            after_commit(partial(_announce_ended, self.id), session)

    def start_attempt(self) -> int | None:
        """Claim the import for a new attempt: ``processing``, parsing (or analysing, in the
        analysis phase), attempt number + 1, in a statement that succeeds for one claimant
        only (the attempt commits it before it starts work).

        Returns:
            The attempt's number, or None when another run claimed it first.
        """
        self._require("start_attempt", (QUEUED, PROCESSING, FAILED))
        session = object_session(self)
        assert session is not None
        attempt = self.attempts + 1
        claimed = rows_matched(
            session,
            (
                update(ImportJob)
                .where(ImportJob.id == self.id, ImportJob.attempts == self.attempts)
                .values(
                    attempts=attempt,
                    status=PROCESSING,
                    stage=_FIRST_STAGE.get(self.phase, ImportStage.PARSING),
                    error_message=None,
                    error_traceback=None,
                    failure_kind=None,
                    finished_at=None,
                    started_at=func.coalesce(ImportJob.started_at, utcnow()),
                )
                .execution_options(synchronize_session=False)
            ),
        )
        session.expire(self)  # read the claimed (or the other claimant's) row afresh
        return attempt if claimed else None

    def record_progress(
        self,
        *,
        stage: str,
        percent: int,
        rows_done: int,
        counts: dict[str, int],
        stage_seconds: dict[str, float],
        warnings: list[str],
        checkpoint: dict[str, Any],
        rejected: bool,
        estimated_rows: int | None = None,
    ) -> None:
        """Record a step of the running import (committed with its chunk's rows)."""
        self._require("record_progress", (PROCESSING,))
        self._require_phase("record_progress", IMPORT)
        if stage not in WORKING_STAGES:
            raise IllegalTransition(f"record_progress: {stage!r} is not a working stage")
        self.stage, self.progress = ImportStage(stage), max(self.progress or 0, percent)
        self.processed_rows, self.total_rows = rows_done, counts["total"]
        self.valid_rows, self.invalid_rows = counts["valid"], counts["invalid"]
        self.inserted_rows, self.updated_rows = counts["inserted"], counts["updated"]
        self.unchanged_rows = counts["unchanged"]
        self.validation_stats = {
            "total": counts["total"],
            "valid": counts["valid"],
            "invalid": counts["invalid"],
            "duplicates": counts["duplicates"],
            "warnings": len(warnings),
        }
        self.database_stats = {
            "inserted": counts["inserted"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "failed": counts["valid"] if rejected else 0,
        }
        self.stage_timings, self.warnings = dict(stage_seconds), list(warnings)
        self.checkpoint = dict(checkpoint)
        self.rejected_rows_kept = counts["invalid"]  # each one kept with its chunk
        self.estimated_rows = estimated_rows

    def record_analysis(self, *, percent: int, rows_done: int) -> None:
        """Record how far the running analysis has read the file."""
        self._require("record_analysis", (PROCESSING,))
        self._require_phase("record_analysis", ANALYSIS)
        self.stage, self.progress = ImportStage.ANALYSING, max(self.progress or 0, percent)
        self.processed_rows = rows_done

    def record_undo_progress(
        self, *, percent: int, done: int, total: int, counts: dict[str, int], checkpoint: dict
    ) -> None:
        """Record a step of the running undo: records handled of ``total``, how many were
        removed, restored and kept (``counts``), and where to resume (committed with the
        step's changes)."""
        self._require("record_undo_progress", (PROCESSING,))
        self._require_phase("record_undo_progress", UNDO)
        self.stage, self.progress = ImportStage.UNDOING, max(self.progress or 0, percent)
        self.processed_rows, self.total_rows = done, total
        self.database_stats, self.checkpoint = dict(counts), dict(checkpoint)

    def finish_analysis(
        self, analysis: dict[str, Any], *, import_now: bool, seconds: float | None = None
    ) -> None:
        """The analysis ran to its end: store it and wait for the user (``needs_review``), or,
        with ``import_now`` (the mapping is certain and the user asked for it), queue the
        import itself."""
        self._require("finish_analysis", (PROCESSING,))
        self._require_phase("finish_analysis", ANALYSIS)
        # Every attempt so far was an analysis; the review starts now.
        self.analysis = {
            **analysis,
            "analysis_attempts": self.attempts,
            "analysed_at": utcnow().isoformat(),
        }
        self.error_message = self.error_traceback = None
        self._add_seconds(seconds)
        if import_now:
            self._queue_import()
        else:
            self.status, self.stage, self.progress = NEEDS_REVIEW, ImportStage.REVIEW, 100

    def commit_review(self, mapping: dict[str, Any]) -> None:
        """The user confirmed the review: queue the import with ``mapping``."""
        self._require("commit_review", (NEEDS_REVIEW,))
        self.mapping = mapping
        analysis = dict(self.analysis or {})
        if "analysed_at" in analysis:
            waited = utcnow() - datetime.fromisoformat(analysis["analysed_at"])
            analysis["review_seconds"] = round(waited.total_seconds(), 3)
            self.analysis = analysis
        self._queue_import()

    def reanalyse(
        self,
        mapping: dict[str, Any] | None,
        entity_type: str,
        *,
        then_import: dict[str, Any] | None = None,
    ) -> None:
        """The user changed the mapping, or the entity type (then without a mapping): analyse
        the file again. With ``then_import`` (who pressed Import, ``by``, and what they
        changed, ``changes``) the import follows unless the new analysis needs a person;
        the analysis keeps them to say so."""
        self._require("reanalyse", (NEEDS_REVIEW,))
        self.mapping, self.entity_type, self.detect_entity = mapping, entity_type, False
        self.review_policy = ReviewPolicy.CONFIRMED if then_import else ReviewPolicy.ALWAYS
        self.analysis = {"import_requested": then_import} if then_import else None
        self.status, self.stage, self.progress = QUEUED, ImportStage.QUEUED, 0
        self.processed_rows = 0

    def expire_review(self) -> None:
        """Nobody finished the review in time: ``canceled``, saying so."""
        self._require("expire_review", (NEEDS_REVIEW,))
        self.status, self.stage = CANCELED, ImportStage.DONE
        self.error_message = REVIEW_EXPIRED
        self._ended(None)

    def _queue_import(self) -> None:
        """Leave the analysis for the import proper, from the file's first row."""
        self.phase = IMPORT
        self.status, self.stage, self.progress = QUEUED, ImportStage.QUEUED, 0
        self.processed_rows = 0
        self.checkpoint = {}

    def finish(self, outcome: ImportStatus, seconds: float) -> None:
        """The attempt ran to its end: ``completed``, or ``canceled`` at a user's request."""
        self._require("finish", (PROCESSING,))
        if outcome not in (COMPLETED, CANCELED):
            raise IllegalTransition(f"finish: {outcome!r} is not how an import ends well")
        if outcome == COMPLETED and self.phase == ANALYSIS:
            raise IllegalTransition(f"finish: import {self.id} is in its analysis phase")
        self.status, self.stage = outcome, ImportStage.DONE
        if outcome == COMPLETED:
            self.progress = 100
        self.error_message = self.error_traceback = self.failure_kind = None
        self._ended(seconds)

    def fail(
        self,
        message: str,
        traceback: str | None = None,
        seconds: float | None = None,
        kind: str | None = None,
    ) -> None:
        """The import cannot go on: ``failed`` with ``message`` for the user and the
        failure's ``kind``."""
        self._require("fail", (PROCESSING,))
        self.status, self.stage = FAILED, ImportStage.DONE
        self.error_message, self.error_traceback = message, traceback
        self.failure_kind = kind
        self._ended(seconds)

    def retry_later(
        self,
        message: str,
        traceback: str | None = None,
        seconds: float | None = None,
        kind: str | None = None,
    ) -> None:
        """The attempt stopped (an error, a stopped or lost worker); another one follows:
        back to ``queued``, stage ``retrying``, with ``message`` and ``kind`` on the job."""
        self._require("retry_later", (PROCESSING,))
        self.status, self.stage = QUEUED, ImportStage.RETRYING
        self.error_message, self.error_traceback = message, traceback
        self.failure_kind = kind
        self._add_seconds(seconds)

    def cancel(self) -> None:
        """A waiting import (or one waiting for its review: discarded) ends ``canceled`` now; a
        running one is asked to stop at its next chunk (its attempt then finishes as
        canceled)."""
        self._require("cancel", (QUEUED, PROCESSING, NEEDS_REVIEW))
        self.cancel_requested = True
        if self.status in (QUEUED, NEEDS_REVIEW):
            self.status, self.stage = CANCELED, ImportStage.DONE
            self._ended(None)

    def requeue(self) -> None:
        """Put a failed or canceled import back in line; it resumes from its checkpoint."""
        self._require("requeue", (FAILED, CANCELED))
        self.status, self.stage = QUEUED, ImportStage.QUEUED
        self.cancel_requested = False
        self.error_message = self.error_traceback = self.failure_kind = None
        self.finished_at = None

    def _require_phase(self, transition: str, phase: ImportPhase) -> None:
        if self.phase != phase:
            raise IllegalTransition(f"{transition}: import {self.id} is in its {self.phase} phase")

    def _ended(self, seconds: float | None) -> None:
        self.finished_at = utcnow()
        self._add_seconds(seconds)
        self._announce_end()

    def _add_seconds(self, seconds: float | None) -> None:
        if seconds is not None:
            self.processing_duration_ms = (self.processing_duration_ms or 0) + int(seconds * 1000)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.entity_type} {self.status}>"


_FIRST_STAGE: dict[str, ImportStage] = {
    ANALYSIS: ImportStage.ANALYSING,
    UNDO: ImportStage.UNDOING,
}


def _announce_ended(job_id: str) -> None:
    """Tell the listeners that import ``job_id`` ended (its transaction has committed)."""
    for listener in on_ended:
        listener(job_id)
