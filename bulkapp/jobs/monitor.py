"""Monitoring figures as plain dicts: queues and workers from Redis, jobs from the database.

Registries are read with ``cleanup=False`` (plain ZCARD/LLEN): cleaning would run failure
callbacks inside the web process.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TypedDict

from redis import Redis
from rq import Queue, Worker
from rq.registry import (
    CanceledJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.suspension import is_suspended
from sqlalchemy import Select, func, select

from ..extensions import db, get_redis
from ..models import CANCELED, COMPLETED, FAILED, PROCESSING, QUEUED, UNDO, ImportJob, utcnow
from . import failures
from .lifecycle import BULK_ACTIONS
from .queues import (
    ENTITY_QUEUES,
    EXPORTS_QUEUE,
    MAINTENANCE_QUEUE,
    NOTIFICATIONS_QUEUE,
    base_queue_name,
    tier_queue_names,
    worker_queue_names,
)
from .state import iso_timestamp, job_state

STAT_KEYS = ("waiting", "active", "delayed", "paused", "completed", "failed", "canceled")
_REGISTRIES = {
    "active": StartedJobRegistry,
    "delayed": ScheduledJobRegistry,
    "completed": FinishedJobRegistry,
    "failed": FailedJobRegistry,
    "canceled": CanceledJobRegistry,
}


def _empty() -> dict[str, int]:
    return {key: 0 for key in (*STAT_KEYS, "total")}


def _add(total: dict[str, Any], counts: dict[str, int]) -> None:
    for key in (*STAT_KEYS, "total"):
        total[key] += counts[key]


def sum_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """The figures of several queues added up (extra keys such as ``tiers`` ignored)."""
    total = _empty()
    for one in counts:
        _add(total, one)
    return total


def _counts(connection: Redis, names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Counts of each queue in ``names``, read in one round trip."""
    names = list(names)
    suspended = bool(is_suspended(connection))
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(Queue(name, connection=connection).key)
            for registry in _REGISTRIES.values():
                pipe.zcard(registry(name, connection=connection).key)
        replies = iter(pipe.execute())
    result = {}
    for name in names:
        waiting = next(replies)
        counts = {key: next(replies) for key in _REGISTRIES}
        counts["waiting"], counts["paused"] = (0, waiting) if suspended else (waiting, 0)
        counts["total"] = sum(counts[key] for key in STAT_KEYS)
        result[name] = counts
    return result


def _names_for(queue_name: str | None) -> list[str]:
    if queue_name is None:
        return worker_queue_names()
    if queue_name in ENTITY_QUEUES.values():
        return tier_queue_names(queue_name)
    return [queue_name]


def queue_stats(queue_name: str | None = None, connection: Redis | None = None) -> dict[str, int]:
    """Counts of one base queue (all its tiers), one queue, or (``None``) every queue.

    Keys: waiting, active, delayed (scheduled, e.g. a retry's backoff), paused (waiting while
    workers are suspended with ``rq suspend``), completed, failed, canceled, total.
    """
    return sum_counts(_counts(connection or get_redis(), _names_for(queue_name)).values())


def all_queue_stats(connection: Redis | None = None) -> dict[str, dict]:
    """Counts per base queue (summed over tiers) with each tier's counts under ``tiers``."""
    counts = _counts(connection or get_redis(), worker_queue_names())
    result: dict[str, dict] = {}
    for name, one in counts.items():
        base = base_queue_name(name)
        entry = result.setdefault(base, {**_empty(), "tiers": {}})
        _add(entry, one)
        entry["tiers"][name] = one
    return {name: result[name] for name in _display_order()}


def _display_order() -> list[str]:
    return [*ENTITY_QUEUES.values(), NOTIFICATIONS_QUEUE, EXPORTS_QUEUE, MAINTENANCE_QUEUE]


def organisation_queue_stats(organisation_id: int, hours: int = 24) -> dict[str, dict]:
    """The same figures for one organisation, from its ImportJobs: waiting, delayed (awaiting
    a retry) and active now; completed, failed and canceled within the last ``hours``."""
    since = utcnow() - timedelta(hours=hours)
    rows = db.session.execute(
        select(ImportJob.queue_name, ImportJob.status, ImportJob.stage, func.count())
        .where(
            ImportJob.organisation_id == organisation_id,
            (ImportJob.status.in_((QUEUED, PROCESSING))) | (ImportJob.finished_at >= since),
        )
        .group_by(ImportJob.queue_name, ImportJob.status, ImportJob.stage)
    ).all()
    result: dict[str, dict[str, Any]] = {
        base: {**_empty(), "tiers": {name: _empty() for name in tier_queue_names(base)}}
        for base in ENTITY_QUEUES.values()
    }
    key_of: dict[str, str] = {
        PROCESSING: "active",
        COMPLETED: "completed",
        FAILED: "failed",
        CANCELED: "canceled",
    }
    for queue_name, status, stage, count in rows:
        base = base_queue_name(queue_name or "")
        if base not in result:
            continue
        if status == QUEUED:
            key = "delayed" if stage == "retrying" else "waiting"
        else:
            key = key_of[status]
        for entry in (result[base], result[base]["tiers"][queue_name]):
            entry[key] += count
            entry["total"] += count
    return result


def queue_figures(organisation_id: int | None) -> dict[str, dict]:
    """Figures per base queue as someone working for ``organisation_id`` sees them: counted
    from that organisation's jobs, or for everyone (``None``) the live RQ figures."""
    if organisation_id is None:
        return all_queue_stats()
    return organisation_queue_stats(organisation_id)


def workers(connection: Redis | None = None) -> list[dict[str, Any]]:
    """Every registered worker: name, host, pid, queues, state, current job, heartbeats."""
    found = Worker.all(connection=connection or get_redis())
    return [
        {
            "name": worker.name,
            "hostname": worker.hostname,
            "pid": worker.pid,
            "queues": worker.queue_names(),
            "state": worker.get_state(),
            "current_job_id": worker.get_current_job_id(),
            "last_heartbeat": iso_timestamp(worker.last_heartbeat),
            "birth": iso_timestamp(worker.birth_date),
            "successful_jobs": worker.successful_job_count,
            "failed_jobs": worker.failed_job_count,
        }
        for worker in sorted(found, key=lambda w: (w.hostname or "", w.name))
    ]


def failure_groups(jobs: Select) -> list[dict[str, Any]]:
    """The failed jobs among ``jobs`` grouped by cause, largest group first: the cause
    (``kind``, ``label``, whether a corrected file is needed), how many, when the last one
    failed and its message as an example."""
    failed = jobs.where(ImportJob.status == FAILED).order_by(None).subquery()
    cause = failures.cause_of(failed.c)
    rows = db.session.execute(
        select(cause, func.count(), func.max(failed.c.finished_at))
        .group_by(cause)
        .order_by(func.count().desc(), cause)
    ).all()
    groups = []
    for kind, count, last_failed in rows:
        example = db.session.scalar(
            select(failed.c.error_message)
            .where(cause == kind)
            .order_by(failed.c.finished_at.desc())
            .limit(1)
        )
        groups.append(
            {
                "kind": kind,
                "label": failures.label(kind),
                "permanent": failures.is_permanent(kind),
                "count": count,
                "last_failed_at": last_failed,
                "example": example,
            }
        )
    return groups


def bulk_counts(jobs: Select) -> dict[str, int]:
    """How many of ``jobs`` each bulk action (retry, cancel, clean) would apply to."""
    return {
        action: db.session.scalar(
            select(func.count()).select_from(bulk_targets(jobs, action).order_by(None).subquery())
        )
        or 0
        for action in BULK_ACTIONS
    }


def bulk_targets(jobs: Select, action: str) -> Select:
    """The jobs among ``jobs`` whose status ``action`` applies to (a retry of a failure that
    needs a corrected file, or a clean of a job with nothing left, is still refused by its use
    case)."""
    _, statuses = BULK_ACTIONS[action]
    query = jobs.where(ImportJob.status.in_(statuses))
    if action == "retry":  # as ``state.can_retry``: an import whose upload is gone cannot
        query = query.where(
            (ImportJob.status != FAILED) | ~failures.cause_of(ImportJob).in_(failures.PERMANENT),
            (ImportJob.phase == UNDO) | ImportJob.stored_path.is_not(None),
        )
    elif action == "clean":
        query = query.where(
            ImportJob.stored_path.is_not(None)
            | ImportJob.report_path.is_not(None)
            | (ImportJob.rejected_rows_kept > 0)
            | ImportJob.rq_job_id.is_not(None)
        )
    return query


class JobProgress(TypedDict):
    """What the monitor's jobs table shows of a job while it runs."""

    status: str
    stage: str
    progress: int
    processed: int
    total: int
    finished: bool
    cancel_requested: bool
    retryable: bool


def job_progress(jobs: Iterable[ImportJob]) -> dict[str, JobProgress]:
    """The live figures of each of ``jobs``, by id, taken from its state."""
    return {
        state["id"]: {
            "status": state["status"],
            "stage": state["stage"],
            "progress": state["progress"],
            "processed": state["counts"]["processed"],
            "total": state["counts"]["total"],
            "finished": state["finished"],
            "cancel_requested": state["cancel_requested"],
            "retryable": state["retryable"],
        }
        for state in map(job_state, jobs)
    }
