"""Hourly figures of the import queues, kept for the monitor's history charts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Base


class QueueHour(Base):
    """One hour of one queue: imports that ended in it, rows stored, and how long the imports
    waited and ran (median and 95th percentile, in milliseconds).

    ``organisation_id`` is None on the row that counts every organisation together (its
    percentiles cannot be added up from the organisations' rows).
    """

    __tablename__ = "queue_hours"
    __table_args__ = (Index("ix_queue_hours_hour_org", "hour", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column()  # the hour's start, UTC
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    queue_name: Mapped[str] = mapped_column(String(100))
    completed: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    rows_stored: Mapped[int] = mapped_column(default=0)
    wait_p50_ms: Mapped[int | None] = mapped_column()
    wait_p95_ms: Mapped[int | None] = mapped_column()
    run_p50_ms: Mapped[int | None] = mapped_column()
    run_p95_ms: Mapped[int | None] = mapped_column()
