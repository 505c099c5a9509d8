"""The admin monitor: queue and worker figures, metrics history, failures grouped by cause,
the jobs table and bulk actions on every job matching its filter.

Admins see their organisation; a super admin sees every organisation, the Redis-wide queue
figures, the workers and rq-dashboard (mounted at /admin/rq by ``bulkapp.web.dashboard``).
Everyone else gets 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..jobs import failures, metrics, monitor
from ..jobs.access import can_act, jobs_visible_to, scope_of
from ..jobs.filters import JobFilters, filter_choices, parse_job_filters, search_jobs
from ..jobs.lifecycle import BULK_ACTIONS, act_on_jobs, clean_jobs
from ..jobs.state import iso_timestamp
from ..models import FAILED, ImportJob, utcnow
from . import dashboard
from .helpers import refusals_flashed

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.record_once(dashboard.mount)

PAGE_SIZE = 25
MAX_POLLED_JOBS = 100
REDIS_DOWN = "The job queue (Redis) is not reachable, so its figures are unavailable."


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(404)


def _figures() -> dict[str, Any]:
    """Queue figures (and workers, for a super admin); Redis being down is reported."""
    organisation_id = scope_of(current_user)
    figures: dict[str, Any]
    if organisation_id is not None:
        figures = {
            "scope": "organisation",
            "redis_error": None,
            "workers": None,
            "queues": monitor.queue_figures(organisation_id),
        }
    else:
        try:
            figures = {
                "scope": "all",
                "redis_error": None,
                "queues": monitor.queue_figures(None),
                "workers": monitor.workers(),
            }
        except RedisError:
            figures = {"scope": "all", "redis_error": REDIS_DOWN, "queues": {}, "workers": []}
    figures["totals"] = monitor.sum_counts(figures["queues"].values())
    return figures


@bp.route("/")
def index():
    """The monitor page."""
    filters, filter_errors = parse_job_filters(request.args)
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        search_jobs(current_user, filters).options(selectinload(ImportJob.undone_by)),
        page=max(page, 1),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    failed = replace(filters, status=FAILED, cause="")
    return render_template(
        "admin/monitor.html",
        figures=_figures(),
        pagination=pagination,
        filters=filters,
        filter_errors=filter_errors,
        choices=filter_choices(current_user),
        history=metrics.history(scope_of(current_user), _period()),
        groups=monitor.failure_groups(search_jobs(current_user, failed)),
        group_filters=failed,
        bulk_counts=monitor.bulk_counts(search_jobs(current_user, filters)),
    )


def _period() -> str:
    """The history chart's period (``?period=24h|7d|90d``; 24 hours by default)."""
    period = request.args.get("period", "24h")
    return period if period in metrics.PERIODS else "24h"


@bp.route("/monitor.json")
def figures():
    """Live figures for ``static/monitor.js``; ``?jobs=id,id`` adds those jobs' progress."""
    wanted = [i for i in request.args.get("jobs", "").split(",") if i][:MAX_POLLED_JOBS]
    jobs: Iterable[ImportJob] = (
        db.session.scalars(
            jobs_visible_to(current_user)
            .where(ImportJob.id.in_(wanted))
            .options(selectinload(ImportJob.undone_by))
        )
        if wanted
        else []
    )
    response = jsonify(
        {**_figures(), "jobs": monitor.job_progress(jobs), "generated_at": iso_timestamp(utcnow())}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _back():
    """The monitor again with the same filters (the first value of each query parameter;
    names starting with ``_`` are url_for's own options, never filters)."""
    filters: dict[str, Any] = {
        name: value for name, value in request.args.items() if not name.startswith("_")
    }
    return redirect(url_for("admin.index", **filters))


BULK_VERBS = {
    "retry": ("Retry", "retried"),
    "cancel": ("Cancel", "canceled"),
    "clean": ("Clean", "cleaned"),
}


def _plural(count: int) -> str:
    return f"{count:,} job{'s' if count != 1 else ''}"


@bp.route("/bulk/<action>", methods=["GET", "POST"])
def bulk(action: str):
    """An action on every job matching the monitor's filter (the query string): GET asks to
    confirm, stating how many jobs it would touch; POST does it, job by job, through the
    same use case as the job's own button."""
    if action not in BULK_ACTIONS:
        abort(404)
    filters, _ = parse_job_filters(request.args)
    targets = monitor.bulk_targets(search_jobs(current_user, filters), action)
    if request.method == "GET":
        return render_template(
            "admin/bulk_confirm.html",
            action=action,
            verb=BULK_VERBS[action][0],
            count=monitor.bulk_counts(search_jobs(current_user, filters))[action],
            filters=filters,
            described=_describe(filters),
        )
    jobs = [job for job in db.session.scalars(targets) if can_act(current_user, job)]
    outcome = act_on_jobs(action, jobs, current_user)
    message = f"{_plural(outcome['done'])} {BULK_VERBS[action][1]}."
    for reason, count in outcome["skipped"].items():
        message += f" {_plural(count)} left as they were: {reason}"
    flash(message, "info" if outcome["done"] or not outcome["skipped"] else "warning")
    return _back()


def _describe(filters: JobFilters) -> list[str]:
    """The filter in words, for the confirmation page."""
    shown = {
        **filters.as_args(),
        **({"cause": failures.label(filters.cause)} if filters.cause else {}),
    }
    described = [f"{name.replace('_', ' ')}: {value}" for name, value in shown.items()]
    return described or ["every job you can see"]


@bp.route("/clean", methods=["POST"])
@refusals_flashed(_back)
def clean():
    """Delete files, reports and RQ jobs of jobs finished longer ago than the grace period."""
    raw = request.form.get("grace_hours", "").strip()
    try:
        counts = clean_jobs(float(raw), scope_of(current_user), current_user)
    except ValueError:
        flash("The grace period must be a number of hours, such as 24.", "error")
        return _back()
    flash(
        f"Cleaned {counts['jobs']} job(s): {counts['files_deleted']} upload(s), "
        f"{counts['reports_deleted']} report(s) and {counts['rq_jobs_removed']} queue "
        "entries removed. The jobs stay listed.",
        "info",
    )
    return _back()
