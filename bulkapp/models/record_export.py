"""An export of a records view too large to stream in a web request: written by a worker
into the file store, downloaded from its page."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .accounts import Organisation, User, utcnow


class ExportStatus(StrEnum):
    """Where an export is: waiting for a worker, being written, ready, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class RecordExport(Base):
    """One requested export: the view (entity type, search, filters, sort as query-string
    arguments), the format, how far the worker got, and the stored file."""

    __tablename__ = "record_exports"
    __table_args__ = (Index("ix_record_exports_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entity_type: Mapped[str] = mapped_column(String(50))
    format: Mapped[str] = mapped_column(String(10))
    # [[name, value], ...]: the view's query-string arguments.
    view_args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=ExportStatus.QUEUED)
    rows_expected: Mapped[int | None] = mapped_column()
    rows_written: Mapped[int] = mapped_column(default=0)
    file_key: Mapped[str | None] = mapped_column(String(500))
    file_size: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()

    @property
    def finished(self) -> bool:
        """True once the export completed or failed."""
        return self.status in (ExportStatus.COMPLETED, ExportStatus.FAILED)

    @property
    def progress(self) -> int:
        """Percent of the expected rows written (100 once completed)."""
        if self.status == ExportStatus.COMPLETED:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, self.rows_written * 100 // self.rows_expected)

    def start(self, rows_expected: int) -> None:
        """A worker began writing it (again, after a lost attempt)."""
        self.status, self.started_at = ExportStatus.RUNNING, utcnow()
        self.rows_expected, self.rows_written, self.error_message = rows_expected, 0, None

    def complete(self, file_key: str, file_size: int, rows: int) -> None:
        """The file is stored."""
        self.status, self.finished_at = ExportStatus.COMPLETED, utcnow()
        self.file_key, self.file_size, self.rows_written = file_key, file_size, rows

    def fail(self, message: str) -> None:
        """It cannot be written; ``message`` says why, for the user."""
        self.status, self.finished_at, self.error_message = ExportStatus.FAILED, utcnow(), message

    def __repr__(self) -> str:
        return f"<RecordExport {self.id} {self.entity_type} {self.format} {self.status}>"
