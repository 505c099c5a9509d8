"""Downloads: upload templates per entity type and a job's error report."""

from __future__ import annotations

import io

from flask import Blueprint, abort, send_file
from flask_login import current_user

from ..entities import UnknownEntity, get_entity
from ..entities.templates import MEDIA_TYPES, TEMPLATE_FORMATS, template_file, template_filename
from ..jobs.access import require_job
from .helpers import error_report_response

bp = Blueprint("files", __name__)


@bp.route(f"/templates/<entity>.<any({', '.join(TEMPLATE_FORMATS)}):fmt>")
def template(entity: str, fmt: str):
    """The upload template of ``entity`` as CSV or XLSX."""
    try:
        schema = get_entity(entity)
    except UnknownEntity:
        abort(404)
    return send_file(
        io.BytesIO(template_file(schema, fmt)),
        mimetype=MEDIA_TYPES[fmt],
        as_attachment=True,
        download_name=template_filename(schema, fmt),
        max_age=0,
    )


@bp.route("/jobs/<job_id>/errors.csv")
def error_report(job_id: str):
    """The CSV of a job's rejected rows, named after the upload."""
    job = require_job(current_user, job_id)
    response = error_report_response(job)
    if response is None:
        abort(404)
    return response
