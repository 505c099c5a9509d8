"""RQ queues, priority tiers and job defaults, declared once, as data.

Each entity type has one queue per priority tier. The base name (``bulk-upload-mechanics``)
is the default tier, where members' uploads go, so ``rq requeue --queue bulk-upload-mechanics
--all`` covers the common case. Workers listen tier by tier, highest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from rq import Callback, Queue, Retry
from rq.job import Job

from ..config import lifecycle_settings
from ..entities import REGISTRY, get_entity

IMPORT_FUNCTION = "bulkapp.jobs.import_job"
IMPORT_FAILED = "bulkapp.jobs.import_failed"

NOTIFICATIONS_QUEUE = "notifications"
MAINTENANCE_QUEUE = "maintenance"
# Records exports too large to stream in a web request.
EXPORTS_QUEUE = "exports"
EXPORT_FUNCTION = "bulkapp.jobs.export_records"
EXPORT_FAILED = "bulkapp.jobs.export_failed"
# Bulk fixes of many rejected rows, on their job's import queue (its tier, its workers).
BULK_FIX_FUNCTION = "bulkapp.jobs.bulk_fix_job"
BULK_FIX_FAILED = "bulkapp.jobs.bulk_fix_failed"

# Queue per entity type: bulk-upload-mechanics, bulk-upload-service-providers, ...
ENTITY_QUEUES: dict[str, str] = {name: schema.queue_name for name, schema in REGISTRY.items()}


@dataclass(frozen=True)
class Tier:
    """A priority tier: its name and the suffix its queues carry."""

    name: str
    suffix: str


# Highest priority first.
TIERS: tuple[Tier, ...] = (
    Tier("critical", "-critical"),
    Tier("high", "-high"),
    Tier("medium", "-medium"),
    Tier("default", ""),
)
ROLE_TIERS: dict[str, str] = {
    "super_admin": "critical",
    "national_admin": "high",
    "province_admin": "medium",
    "municipality_admin": "medium",
    "member": "default",
}
_TIER_BY_NAME = {tier.name: tier for tier in TIERS}

# A worker renews the lease of the job it runs this often (seconds)...
JOB_MONITORING_INTERVAL = 2
# ...and a job whose lease is this old has lost its worker: five heartbeats were missed.
JOB_HEARTBEAT_TTL = 10

# The settings an import job takes from the configuration (defaults in bulkapp.config).
JOB_SETTING_KEYS = (
    "IMPORT_JOB_TIMEOUT",
    "IMPORT_JOB_TIMEOUTS",
    "IMPORT_RETRY_INTERVALS",
    "IMPORT_RESULT_TTL",
    "IMPORT_FAILURE_TTL",
)


def queue_name_for(entity_type: str, role: str = "member") -> str:
    """The queue an import of ``entity_type`` by a user with ``role`` goes to."""
    tier = _TIER_BY_NAME[ROLE_TIERS.get(role, "default")]
    return get_entity(entity_type).queue_name + tier.suffix


def tier_queue_names(base_name: str) -> list[str]:
    """Every tier of the base queue ``base_name``, highest priority first."""
    return [base_name + tier.suffix for tier in TIERS]


def base_queue_name(queue_name: str) -> str:
    """The base queue of a tier queue: ``bulk-upload-members-high`` → ``bulk-upload-members``."""
    for tier in TIERS:
        if tier.suffix and queue_name.endswith(tier.suffix):
            candidate = queue_name[: -len(tier.suffix)]
            if candidate in ENTITY_QUEUES.values():
                return candidate
    return queue_name


def tier_of(queue_name: str) -> str:
    """The tier name of ``queue_name`` (``default`` for base and service queues)."""
    base = base_queue_name(queue_name)
    suffix = queue_name[len(base) :]
    return next((tier.name for tier in TIERS if tier.suffix == suffix), "default")


def import_queue_names(entities: Sequence[str] = ()) -> list[str]:
    """Every import queue (of ``entities`` only, if given), tier by tier, highest first."""
    bases = [ENTITY_QUEUES[name] for name in entities] or list(ENTITY_QUEUES.values())
    return [base + tier.suffix for tier in TIERS for base in bases]


def worker_queue_names(entities: Sequence[str] = ()) -> list[str]:
    """Every queue a worker listens on (for ``entities`` only, if given), in the order it
    should take work.

    Maintenance and notification jobs are short, so they come first; then exports, which a
    person waits for on the export's page.
    """
    return [MAINTENANCE_QUEUE, NOTIFICATIONS_QUEUE, EXPORTS_QUEUE, *import_queue_names(entities)]


def get_queue(name: str, connection: Redis) -> Queue:
    """The RQ queue called ``name``."""
    return Queue(name, connection=connection)


def job_settings() -> Mapping[str, Any]:
    """The current app's import job settings, or the defaults outside an application."""
    source = current_app.config if has_app_context() else lifecycle_settings({}, Path())
    return {key: source[key] for key in JOB_SETTING_KEYS}


def import_job_options(
    queue_name: str, settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Timeout, retries, retention and callbacks of an import job on ``queue_name``."""
    settings = settings or job_settings()
    entity = next(
        (name for name, base in ENTITY_QUEUES.items() if base == base_queue_name(queue_name)), ""
    )
    intervals = list(settings["IMPORT_RETRY_INTERVALS"])
    return {
        "job_timeout": settings["IMPORT_JOB_TIMEOUTS"].get(entity, settings["IMPORT_JOB_TIMEOUT"]),
        "retry": Retry(max=len(intervals), interval=intervals) if intervals else None,
        "result_ttl": settings["IMPORT_RESULT_TTL"],
        "failure_ttl": settings["IMPORT_FAILURE_TTL"],
        "on_failure": Callback(IMPORT_FAILED),
    }


def enqueue_export(connection: Redis, export_id: str) -> Job:
    """Enqueue the writing of RecordExport ``export_id`` (the RQ job id is the same id)."""
    timeout = current_app.config["EXPORT_JOB_TIMEOUT"] if has_app_context() else 1800
    return get_queue(EXPORTS_QUEUE, connection).enqueue(
        EXPORT_FUNCTION,
        export_id,
        job_id=export_id,
        job_timeout=timeout,
        on_failure=Callback(EXPORT_FAILED),
    )


def enqueue_import(connection: Redis, queue_name: str, import_job_id: str) -> Job:
    """Enqueue the import of ImportJob ``import_job_id``; the RQ job id is the same id."""
    return get_queue(queue_name, connection).enqueue(
        IMPORT_FUNCTION, import_job_id, job_id=import_job_id, **import_job_options(queue_name)
    )


def enqueue_bulk_fix(connection: Redis, queue_name: str, run_id: str) -> Job:
    """Enqueue BulkFixRun ``run_id`` (the RQ job id is the same id) on the import queue
    ``queue_name``, with an import's timeout and retries: a worker that dies mid-way is
    failed over like an import's, and the next attempt goes on where it stopped."""
    options = {**import_job_options(queue_name), "on_failure": Callback(BULK_FIX_FAILED)}
    return get_queue(queue_name, connection).enqueue(
        BULK_FIX_FUNCTION, run_id, job_id=run_id, **options
    )
