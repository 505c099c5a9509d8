"""The organisation's jobs: a list, a page per job, and its live state as JSON."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..jobs import fixes
from ..jobs.access import require_job
from ..jobs.filters import JobFilters, search_jobs
from ..jobs.state import attempt_counts, job_state, review_seconds, type_shown
from ..jobs.undo import undo_facts
from ..models import ImportJob
from .labels import title_all, titled

bp = Blueprint("jobs", __name__)

PAGE_SIZE = 25


@bp.app_template_filter("type_label")
def _type_label(job: ImportJob) -> str:
    """The type a job is shown as (``state.type_shown``)."""
    return type_shown(job)[0]


@bp.route("/")
@bp.route("/jobs")
def index():
    """The jobs this user may see, newest first."""
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        search_jobs(current_user, JobFilters()).options(selectinload(ImportJob.undone_by)),
        page=max(page, 1),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    return render_template("jobs.html", pagination=pagination)


@bp.route("/jobs/<job_id>")
def show(job_id: str):
    """One job: status, stage, progress and counts; the page polls ``state``."""
    job = require_job(current_user, job_id)
    follow_ups = fixes.follow_ups(job)
    return render_template(
        "job.html",
        job=job,
        state=job_state(job),
        follow_ups=follow_ups,
        combined=fixes.combined_totals(job, follow_ups) if follow_ups else None,
        original=db.session.get(ImportJob, job.fixes_job_id) if job.fixes_job_id else None,
        undo=undo_facts(job),
        type_shown=type_shown(job),
        attempts=attempt_counts(job),
        review_seconds=review_seconds(job),
    )


@bp.route("/jobs/<job_id>/state")
def state(job_id: str):
    """The job's current state as JSON, for the page's live updates (its messages name
    fields by their titles, as the page does; the API keeps the field names)."""
    job = require_job(current_user, job_id)
    current = job_state(job)
    shown = {
        **current,  # as the page shows it: fields by their titles
        "warnings": title_all(current["warnings"], job.entity_type),
        "error_message": current["error_message"]
        and titled(current["error_message"], job.entity_type),
    }
    response = jsonify(shown)
    response.headers["Cache-Control"] = "no-store"
    return response
