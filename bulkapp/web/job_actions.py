"""Cancel and retry a job from its page or the admin jobs table (POST forms with CSRF tokens).

Jobs the user cannot see are 404; jobs they can see but not act on (someone else's upload,
for a member) are 403.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..jobs.access import find_job
from ..jobs.access import can_act
from ..jobs.lifecycle import JobActionError, cancel_job, retry_job
from ..models import PROCESSING, ImportJob
from ..jobs.queues import tier_of

bp = Blueprint("job_actions", __name__)


@bp.app_context_processor
def _helpers() -> dict:
    """``can_act_on(job)`` for templates: show actions only to those allowed to use them."""
    return {"can_act_on": lambda job: current_user.is_authenticated and can_act(current_user, job)}


@bp.app_template_filter("tier")
def _tier(queue_name: str) -> str:
    """The priority tier of a queue name (``critical``, ``high``, ``medium``, ``default``)."""
    return tier_of(queue_name)


@bp.app_template_filter("duration")
def _duration(seconds: float | None) -> str:
    """Seconds for people: ``0.42 s``, ``3 min 5 s``."""
    seconds = float(seconds or 0)
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _actionable_job(job_id: str) -> ImportJob:
    job = find_job(current_user, job_id)
    if job is None:
        abort(404)
    if not can_act(current_user, job):
        abort(403)
    return job


def _back(job: ImportJob):
    """Back where the form came from (same site only), else the job's page."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return redirect(target)
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.errorhandler(403)
def _forbidden(error):
    return render_template("error.html", status=403, title="Not allowed",
                           message="Only the person who uploaded this file and the "
                                   "organisation's admins can change this job."), 403


@bp.route("/jobs/<job_id>/cancel", methods=["POST"])
def cancel(job_id: str):
    """Cancel a waiting job now, or ask a running one to stop at its next chunk."""
    job = _actionable_job(job_id)
    was_running = job.status == PROCESSING
    try:
        cancel_job(job)
    except JobActionError as exc:
        flash(str(exc), "error")
        return _back(job)
    if was_running:
        flash("Cancel requested: the import stops after the part it is saving now. "
              "Rows saved so far are kept.", "info")
    else:
        flash("The job was canceled.", "info")
    return _back(job)


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
def retry(job_id: str):
    """Queue a failed or canceled job again; it resumes where it stopped."""
    job = _actionable_job(job_id)
    try:
        retry_job(job)
    except JobActionError as exc:
        flash(str(exc), "error")
        return _back(job)
    if job.rq_job_id:
        flash("The job is queued again and resumes where it stopped.", "info")
    else:
        flash("The job is queued again. The job queue is unavailable right now; processing "
              "will start automatically when it is back.", "warning")
    return _back(job)
