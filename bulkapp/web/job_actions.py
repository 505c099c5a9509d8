"""Cancel, retry and undo a job from its page or the admin jobs table (POST forms with CSRF
tokens); an undo is confirmed on a page that shows what it will do.

Jobs the user cannot see are 404; jobs they can see but not act on (someone else's upload,
for a member) are 403.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ..jobs import failures
from ..jobs.access import can_act, require_job
from ..jobs.lifecycle import cancel_job, retry_job
from ..jobs.queues import tier_of
from ..jobs.state import can_retry, iso_timestamp
from ..jobs.undo import preview_undo, request_undo
from ..models import PROCESSING, ImportJob
from .helpers import redirect_within_site, refusals_flashed

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


@bp.app_template_filter("retryable")
def _retryable(job: ImportJob) -> bool:
    """Whether a retry of ``job`` is offered (``state.can_retry``)."""
    return can_retry(job)


@bp.app_template_filter("failure_label")
def _failure_label(kind: str | None) -> str:
    """Why a job failed, in words."""
    return failures.label(kind)


@bp.app_template_filter("thousands")
def _thousands(number: int | None) -> str:
    """A count for people: ``12,345``."""
    return "–" if number is None else f"{number:,}"


@bp.app_template_filter("utc_time")
def _utc_time(value: datetime | None) -> Markup:
    """A ``<time>`` element: UTC in the page, shown in the reader's time zone by format.js with
    the UTC value on hover."""
    if value is None:
        return Markup("–")
    return Markup('<time datetime="{}" title="{} UTC">{} UTC</time>').format(
        iso_timestamp(value), value.strftime("%Y-%m-%d %H:%M:%S"), value.strftime("%Y-%m-%d %H:%M")
    )


def _back(job_id: str):
    """Back where the form came from (same site only), else the job's page."""
    return redirect_within_site(request.form.get("next"), url_for("jobs.show", job_id=job_id))


@bp.route("/jobs/<job_id>/cancel", methods=["POST"])
@refusals_flashed(_back)
def cancel(job_id: str):
    """Cancel a waiting job now, or ask a running one to stop at its next chunk."""
    job = require_job(current_user, job_id, "act")
    was_running = job.status == PROCESSING
    cancel_job(job, current_user)
    if was_running:
        flash(
            "Cancel requested: the import stops after the part it is saving now. "
            "Rows saved so far are kept.",
            "info",
        )
    else:
        flash("The job was canceled.", "info")
    return _back(job_id)


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
@refusals_flashed(_back)
def retry(job_id: str):
    """Queue a failed or canceled job again; it resumes where it stopped."""
    job = require_job(current_user, job_id, "act")
    retry_job(job, current_user)
    if job.rq_job_id:
        flash("The job is queued again and resumes where it stopped.", "info")
    else:
        flash(
            "The job is queued again. The job queue is unavailable right now; processing "
            "will start automatically when it is back.",
            "warning",
        )
    return _back(job_id)


@bp.get("/jobs/<job_id>/undo")
def undo_confirm(job_id: str):
    """What undoing the import will do (removed, restored, kept and why), and the button."""
    job = require_job(current_user, job_id, "act")
    return render_template("undo.html", job=job, preview=preview_undo(job))


@bp.post("/jobs/<job_id>/undo")
@refusals_flashed(_back)
def undo(job_id: str):
    """Queue the undo of a completed import; on to the undo's own job page."""
    job = require_job(current_user, job_id, "act")
    queued = request_undo(job, current_user)
    flash("The undo is queued; this page shows its progress.", "info")
    return redirect(url_for("jobs.show", job_id=queued.id))
