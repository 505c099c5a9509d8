"""The upload page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..entities import UnknownEntity
from ..jobs.imports import UploadRejected, start_import
from ..models import ReviewPolicy
from ..people.users import remember_import_preference
from .forms import UploadForm

bp = Blueprint("uploads", __name__)


@bp.route("/upload", methods=["GET", "POST"])
def upload():
    """Pick an entity type (or let the file tell) and a file; a worker analyses it for the
    review, and the import runs in the background once the user (or a certain, or saved,
    mapping) confirms it. ``?entity_type=`` and ``?mode=`` preselect them (the "upload a
    corrected file" link of a failed job)."""
    form = UploadForm(
        entity_type=request.args.get("entity_type"), mode=request.args.get("mode", "partial")
    )
    if not form.is_submitted():
        form.import_when_certain.data = current_user.import_when_certain
    if form.validate_on_submit():
        upload = form.file.data
        certain = bool(form.import_when_certain.data)
        remember_import_preference(current_user, certain)
        try:
            job, enqueued = start_import(
                user=current_user,
                entity_type=form.entity_type.data,
                stream=upload.stream,
                filename=upload.filename or "",
                mode=form.mode.data,
                review=ReviewPolicy.CERTAIN if certain else ReviewPolicy.SAVED,
            )
        except (UploadRejected, UnknownEntity) as exc:
            flash(str(exc), "error")
            return render_template("upload.html", form=form), 400
        if not enqueued:  # when it was, the job page itself shows it queued, then moving
            flash(
                f"{job.original_filename} was uploaded. The job queue is unavailable right now; "
                "processing will start automatically when it is back.",
                "warning",
            )
        return redirect(url_for("jobs.show", job_id=job.id))
    status = 400 if form.errors else 200
    return render_template("upload.html", form=form), status
