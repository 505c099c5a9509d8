"""The monitor's metrics history: per hour and queue, the imports that completed and failed,
the rows they stored, and how long they waited in the queue and ran (median and 95th
percentile).

The cron process rolls the figures up from the ImportJob rows every few minutes
(``roll_up_recent``: the current and the previous hour); rolling an hour up again replaces
it. Hours older than ``METRICS_RETENTION_DAYS`` are deleted then.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, select

from ..extensions import db
from ..models import COMPLETED, FAILED, ImportJob, QueueHour, utcnow

HOUR = timedelta(hours=1)
INLINE_QUEUE = "inline"  # imports run by `flask bulk import`, without a queue
# The chart periods: how far back, and how wide each bar is.
PERIODS: dict[str, tuple[timedelta, timedelta]] = {
    "24h": (timedelta(hours=24), HOUR),
    "7d": (timedelta(days=7), timedelta(hours=6)),
    "90d": (timedelta(days=90), timedelta(days=1)),
}


def hour_of(moment: datetime) -> datetime:
    """The start of the hour ``moment`` falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def percentile(values: Sequence[int], share: float) -> int | None:
    """The nearest-rank percentile ``share`` (0-1) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def roll_up(hour: datetime) -> int:
    """Replace the figures of ``hour`` (its start) by those of the imports that ended in it,
    for each organisation and for all together; returns how many rows were written."""
    hour = hour_of(hour)
    ended = db.session.execute(
        select(
            ImportJob.organisation_id,
            ImportJob.queue_name,
            ImportJob.status,
            ImportJob.inserted_rows,
            ImportJob.updated_rows,
            ImportJob.created_at,
            ImportJob.started_at,
            ImportJob.finished_at,
            ImportJob.processing_duration_ms,
        ).where(
            ImportJob.status.in_((COMPLETED, FAILED)),
            ImportJob.finished_at >= hour,
            ImportJob.finished_at < hour + HOUR,
        )
    ).all()
    groups: dict[tuple[int | None, str], list[Any]] = defaultdict(list)
    for job in ended:
        queue = job.queue_name or INLINE_QUEUE
        groups[(job.organisation_id, queue)].append(job)
        groups[(None, queue)].append(job)
    db.session.execute(delete(QueueHour).where(QueueHour.hour == hour))
    for (organisation_id, queue), jobs in groups.items():
        waits = [_ms(j.started_at - j.created_at) for j in jobs if j.started_at]
        runs = [_run_ms(j) for j in jobs if j.started_at]
        db.session.add(
            QueueHour(
                hour=hour,
                organisation_id=organisation_id,
                queue_name=queue,
                completed=sum(j.status == COMPLETED for j in jobs),
                failed=sum(j.status == FAILED for j in jobs),
                rows_stored=sum((j.inserted_rows or 0) + (j.updated_rows or 0) for j in jobs),
                wait_p50_ms=percentile(waits, 0.5),
                wait_p95_ms=percentile(waits, 0.95),
                run_p50_ms=percentile(runs, 0.5),
                run_p95_ms=percentile(runs, 0.95),
            )
        )
    db.session.commit()
    return len(groups)


def _ms(delta: timedelta) -> int:
    return max(int(delta.total_seconds() * 1000), 0)


def _run_ms(job: Any) -> int:
    """Time spent running: the attempts' own time, else from the first start to the end."""
    if job.processing_duration_ms is not None:
        return int(job.processing_duration_ms)
    return _ms(job.finished_at - job.started_at)


def roll_up_recent(now: datetime | None = None) -> dict[str, int]:
    """Roll up the previous and the current hour (imports that ended since), and delete hours
    older than ``METRICS_RETENTION_DAYS``."""
    current = hour_of(now or utcnow())
    rows = roll_up(current - HOUR) + roll_up(current)
    cutoff = current - timedelta(days=current_app.config["METRICS_RETENTION_DAYS"])
    # A DELETE's result is always a CursorResult (Session.execute is typed as a Result).
    deleted = cast(
        CursorResult[Any], db.session.execute(delete(QueueHour).where(QueueHour.hour < cutoff))
    ).rowcount
    db.session.commit()
    return {"rows": rows, "deleted": deleted}


def history(
    organisation_id: int | None, period: str = "24h", now: datetime | None = None
) -> dict[str, Any]:
    """The chart of ``period`` (``24h``, ``7d`` or ``90d``) for one organisation (``None``:
    everyone): ``buckets`` oldest first, each with completed, failed, rows_stored and the
    slowest queue's wait and run p50/p95 (ms) in it; ``queues``: the same per queue over the
    whole period."""
    span, width = PERIODS[period]
    end = hour_of(now or utcnow()) + HOUR
    start = end - span
    rows = db.session.scalars(
        select(QueueHour)
        .where(
            QueueHour.hour >= start,
            QueueHour.hour < end,
            QueueHour.organisation_id.is_(None)
            if organisation_id is None
            else QueueHour.organisation_id == organisation_id,
        )
        .order_by(QueueHour.hour)
    ).all()
    count = int(span / width)
    buckets = [_empty(start + i * width) for i in range(count)]
    queues: dict[str, dict[str, Any]] = {}
    for row in rows:
        _merge(buckets[int((row.hour - start) / width)], row)
        _merge(queues.setdefault(row.queue_name, _empty(start)), row)
    return {
        "period": period,
        "width_hours": int(width / HOUR),
        "buckets": buckets,
        "queues": dict(sorted(queues.items())),
    }


FIGURES = ("wait_p50_ms", "wait_p95_ms", "run_p50_ms", "run_p95_ms")


def _empty(start: datetime) -> dict[str, Any]:
    return {"start": start, "completed": 0, "failed": 0, "rows_stored": 0, **dict.fromkeys(FIGURES)}


def _merge(total: dict[str, Any], row: QueueHour) -> None:
    """Add ``row`` to ``total``: counts add up; times keep the slowest (percentiles of
    different hours and queues cannot be added)."""
    total["completed"] += row.completed
    total["failed"] += row.failed
    total["rows_stored"] += row.rows_stored
    for figure in FIGURES:
        value = getattr(row, figure)
        if value is not None and (total[figure] is None or value > total[figure]):
            total[figure] = value
