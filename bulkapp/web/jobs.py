"""The organisation's jobs: a list, a page per job, and its live state as JSON."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user

from ..extensions import db
from ..jobs.access import require_job
from ..jobs.filters import JobFilters, search_jobs
from ..jobs.state import job_state

bp = Blueprint("jobs", __name__)

PAGE_SIZE = 25


@bp.route("/")
@bp.route("/jobs")
def index():
    """The jobs this user may see, newest first."""
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        search_jobs(current_user, JobFilters()),
        page=max(page, 1),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    return render_template("jobs.html", pagination=pagination)


@bp.route("/jobs/<job_id>")
def show(job_id: str):
    """One job: status, stage, progress and counts; the page polls ``state``."""
    job = require_job(current_user, job_id)
    return render_template("job.html", job=job, state=job_state(job))


@bp.route("/jobs/<job_id>/state")
def state(job_id: str):
    """The job's current state as JSON, for the page's live updates."""
    response = jsonify(job_state(require_job(current_user, job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response
