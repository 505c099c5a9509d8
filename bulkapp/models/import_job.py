"""ImportJob: the durable record of one upload and its processing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import Organisation, User, utcnow

QUEUED, PROCESSING, COMPLETED, FAILED, CANCELED = (
    "queued", "processing", "completed", "failed", "canceled")
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED, CANCELED)
FINISHED_STATUSES = frozenset({COMPLETED, FAILED, CANCELED})

MODES = ("partial", "all_or_nothing", "validate_only")


def new_job_id() -> str:
    """A fresh job id (uuid4); letters, digits and ``-`` only, as RQ requires."""
    return str(uuid.uuid4())


class ImportJob(db.Model):
    """One uploaded file and everything known about its import."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_org_created", "organisation_id", "created_at"),
        Index("ix_import_jobs_status", "status"),
        # A repeated API upload with the same Idempotency-Key returns the first job.
        UniqueConstraint("organisation_id", "user_id", "idempotency_key",
                         name="uq_import_jobs_idempotency_key"),
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
    # queued → parsing → validating → saving → finalizing → done (or retrying between attempts)
    stage: Mapped[str] = mapped_column(String(20), default="queued")
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
    report_path: Mapped[str | None] = mapped_column(String(500))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_traceback: Mapped[str | None] = mapped_column(Text)
    processing_duration_ms: Mapped[int | None] = mapped_column()

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # When the "import finished" e-mail and webhook were handed to the notifications queue;
    # a finished job without it is notified by the next maintenance run (Redis was away).
    notified_at: Mapped[datetime | None] = mapped_column()

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def is_finished(self) -> bool:
        """True once the job is completed, failed or canceled."""
        return self.status in FINISHED_STATUSES

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.entity_type} {self.status}>"
