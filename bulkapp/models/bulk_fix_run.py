"""A bulk fix of a job's rejected rows too large for a web request: run by a worker, a batch
of rows per transaction, each batch committed with the row number it reached, so that a
worker that dies leaves the next one to go on from there (no row changed twice, none
skipped). While it waits or runs, the job's rows cannot be edited or sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .accounts import User, utcnow
from .import_job import ImportJob
from .rejected_row import REASON_LENGTH


class BulkFixStatus(StrEnum):
    """Where a bulk fix is: waiting for a worker, going through the rows, done, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIVE_BULK_FIX = (BulkFixStatus.QUEUED, BulkFixStatus.RUNNING)


class BulkFixRun(Base):
    """One queued bulk fix: the change (``action`` on file column ``file_column``, with
    ``value`` and ``find``), the rows it covers (``rows``, or every row the filters let
    through), and how far it got: ``after_row`` is the last row number gone through, committed
    with that batch's changes."""

    __tablename__ = "bulk_fix_runs"
    __table_args__ = (Index("ix_bulk_fix_runs_job_status", "import_job_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    import_job_id: Mapped[str] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(10))
    file_column: Mapped[int] = mapped_column()
    value: Mapped[str | None] = mapped_column(Text)
    find: Mapped[str] = mapped_column(Text, default="")
    filter_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    filter_column: Mapped[int | None] = mapped_column()
    filter_state: Mapped[str | None] = mapped_column(String(10))
    rows: Mapped[list[Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=BulkFixStatus.QUEUED)
    rows_expected: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_changed: Mapped[int] = mapped_column(default=0)
    after_row: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    job: Mapped[ImportJob] = relationship()
    user: Mapped[User] = relationship()

    @property
    def finished(self) -> bool:
        """True once it completed or failed."""
        return self.status in (BulkFixStatus.COMPLETED, BulkFixStatus.FAILED)

    @property
    def progress(self) -> int:
        """Percent of the rows gone through (100 once completed)."""
        if self.status == BulkFixStatus.COMPLETED:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, self.rows_done * 100 // self.rows_expected)

    def start(self) -> None:
        """A worker takes it up (again, after a lost attempt: it goes on from ``after_row``)."""
        self.status, self.attempts = BulkFixStatus.RUNNING, self.attempts + 1
        self.started_at = self.started_at or utcnow()

    def record_batch(self, last_row: int, done: int, changed: int) -> None:
        """A batch went through, up to row ``last_row``: ``done`` rows, ``changed`` of them."""
        self.after_row = last_row
        self.rows_done += done
        self.rows_changed += changed

    def complete(self) -> None:
        """Every row went through."""
        self.status, self.finished_at = BulkFixStatus.COMPLETED, utcnow()
        self.rows_expected = max(self.rows_expected, self.rows_done)

    def fail(self, message: str) -> None:
        """It stopped for good; ``message`` says why, for the user."""
        self.status, self.finished_at, self.error_message = BulkFixStatus.FAILED, utcnow(), message
