"""RecordChange: the change log, one row per record an import (or an undo) changed.

Written in the transaction of the chunk (or undo step) that made the change, so the log and
the records never disagree. Inserted records are not logged here: the entity row's
``created_job_id`` names the import that inserted it.

``changes`` holds, for ``update``, ``{field: [old, new]}`` for every field whose value
changed, plus ``import_job_id`` and ``updated_at`` as ``[old, new]``; for ``delete`` (an undo
removing a record its import had inserted), ``{column: value}`` of every column of the
removed row. Values are JSON as the database returns them in text: strings, whole numbers,
dates as ``YYYY-MM-DD``, amounts as strings with their two decimals (``"450.00"``),
timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff``, and ``null``.

The log of a job is removed with the job's files by the nightly clean-up
(``JOB_RETENTION_HOURS``); after that its import can no longer be undone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Base

UPDATE, DELETE = "update", "delete"
# The big-integer key is SQLite's rowid there (an INTEGER PRIMARY KEY), so it counts up.
LOG_ID = BigInteger().with_variant(Integer(), "sqlite")


class RecordChange(Base):
    """One record changed by one import or undo: what it was before, and after."""

    __tablename__ = "record_changes"
    __table_args__ = (
        Index("ix_record_changes_job", "import_job_id", "id"),
        Index("ix_record_changes_record", "entity_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(LOG_ID, primary_key=True)
    import_job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("import_jobs.id", ondelete="CASCADE")
    )
    entity_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<RecordChange {self.action} {self.entity_type} {self.record_id}>"
