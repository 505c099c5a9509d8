"""The organisation's jobs: a list, a page per job, and its live state as JSON."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import current_user

from ..jobs.access import find_job, jobs_visible_to
from ..extensions import db
from ..models import ImportJob
from ..jobs.state import job_state

bp = Blueprint("jobs", __name__)

PAGE_SIZE = 25


@bp.route("/")
@bp.route("/jobs")
def index():
    """The jobs this user may see, newest first."""
    page = request.args.get("page", 1, type=int)
    query = jobs_visible_to(current_user).order_by(ImportJob.created_at.desc())
    pagination = db.paginate(query, page=max(page, 1), per_page=PAGE_SIZE, error_out=False)
    return render_template("jobs.html", pagination=pagination)


def _job_or_404(job_id: str) -> ImportJob:
    job = find_job(current_user, job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/jobs/<job_id>")
def show(job_id: str):
    """One job: status, stage, progress and counts; the page polls ``state``."""
    job = _job_or_404(job_id)
    return render_template("job.html", job=job, state=job_state(job))


@bp.route("/jobs/<job_id>/state")
def state(job_id: str):
    """The job's current state as JSON, for the page's live updates."""
    response = jsonify(job_state(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response
