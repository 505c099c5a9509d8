"""Rows an import rejected, kept per job as the file had them: the error report is built from
them, and the fix page edits them until they are sent again.

A row is written in the transaction of its chunk (with the chunk's records and checkpoint),
so an import resumed after a crash has each rejected row exactly once.

The review's dry run keeps the rows it predicts will be rejected the same way, marked
``predicted``: the fix page edits them while the job waits in review, and the import reads
each edited row with its edits (fixes of the file). The import's own rejected rows replace
them when it completes. Only one set has entries in the problem index at a time: the
predicted rows' until the review is committed, the import's after.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Base

# Big on PostgreSQL (a busy organisation rejects many rows); SQLite's integer key is 64 bits.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")
REASON_LENGTH = 500
KEY_LENGTH = 300


class FixState(StrEnum):
    """Where a rejected row stands on the fix page."""

    INVALID = "invalid"  # as rejected, or edited and still invalid
    FIXED = "fixed"  # edited, and valid now: ready to be sent
    SENT = "sent"  # sent in a follow-up job


class RejectedRow(Base):
    """One rejected row of one job.

    ``cells`` and ``errors`` are the row as the import (or, for a ``predicted`` row, the
    review's dry run) read it and why it was rejected (each error ``{"column": <file header
    or None>, "field": <field or None>, "message": ...}``): the error report shows them as
    they are. The fix page's state is beside them: ``fixed_cells`` (the row as edited, every
    column), ``fix_errors`` (the edited row's problems, ``[]`` once valid) and ``state``.
    ``natural_key`` is the row's normalised key as it stands now (None while a key cell is
    invalid), for the in-file duplicate rule.
    """

    __tablename__ = "rejected_rows"
    __table_args__ = (
        UniqueConstraint(
            "import_job_id", "predicted", "row_number", name="uq_rejected_rows_job_row"
        ),
        Index("ix_rejected_rows_job_state", "import_job_id", "predicted", "state", "row_number"),
        Index("ix_rejected_rows_job_key", "import_job_id", "natural_key"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    import_job_id: Mapped[str] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column()
    predicted: Mapped[bool] = mapped_column(default=False, server_default=false())
    cells: Mapped[list[Any]] = mapped_column(JSON)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    natural_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    state: Mapped[str] = mapped_column(String(10), default=FixState.INVALID)
    fixed_cells: Mapped[list[Any] | None] = mapped_column(JSON)
    fix_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    edited_at: Mapped[datetime | None] = mapped_column()

    @property
    def current_cells(self) -> list[Any]:
        """The row as it stands: edited, or as the import read it."""
        return self.fixed_cells if self.fixed_cells is not None else self.cells

    @property
    def current_errors(self) -> list[dict[str, Any]]:
        """The row's problems as it stands."""
        return self.fix_errors if self.fix_errors is not None else self.errors


class RejectedRowProblem(Base):
    """One current problem of one rejected row: the fix page's filters by reason and by
    column, and their counts, read these (indexed) instead of every row's errors.

    ``reason`` is the message without the values it quotes, so rows rejected for the same
    reason share it; ``file_column`` is the position of the file column at fault (None: the row
    as a whole).
    """

    __tablename__ = "rejected_row_problems"
    __table_args__ = (
        Index("ix_rejected_row_problems_reason", "import_job_id", "reason", "row_number"),
        Index("ix_rejected_row_problems_column", "import_job_id", "file_column", "row_number"),
    )

    import_job_id: Mapped[str] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    file_column: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH))
