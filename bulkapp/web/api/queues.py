"""Queue figures: waiting, active, completed, failed, delayed, paused, canceled, total.

A super admin sees the live RQ figures of every queue. Everyone else sees their
organisation's share, counted from its jobs (finished ones over the last 24 hours), so no
organisation learns another's volume.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ...jobs.access import scope_of
from ...jobs.monitor import queue_figures, sum_counts
from ...jobs.queues import ENTITY_QUEUES, base_queue_name
from .auth import api_user
from .errors import ApiError, ok

bp = Blueprint("queues", __name__)


def figures_by_queue() -> dict[str, dict[str, Any]]:
    """Figures per base queue (each with its ``tiers``) that the token's user may see."""
    return queue_figures(scope_of(api_user()))


def _scope() -> str:
    return "all" if scope_of(api_user()) is None else "organisation"


@bp.get("/queues/stats")
def all_queues_stats():
    """Totals over every queue, and each queue's figures under ``queues``."""
    figures = figures_by_queue()
    return ok({**sum_counts(figures.values()), "scope": _scope(), "queues": figures})


@bp.get("/queues/<queue_name>/stats")
def queue_stats(queue_name: str):
    """One queue's figures: a base queue (all its tiers) or one tier queue."""
    figures = figures_by_queue()
    base = figures.get(base_queue_name(queue_name))
    found = base if queue_name in figures else (base or {}).get("tiers", {}).get(queue_name)
    if found is None:
        raise ApiError(
            404,
            f"There is no queue {queue_name!r}. Known queues: {', '.join(figures)}.",
            "queue_not_found",
        )
    return ok({**found, "queueName": queue_name, "scope": _scope()})


@bp.get("/bulk-upload/queue/stats")
def bulk_upload_queue_stats():
    """The import queues' figures, added up."""
    figures = figures_by_queue()
    return ok({**sum_counts(figures[name] for name in ENTITY_QUEUES.values()), "scope": _scope()})
