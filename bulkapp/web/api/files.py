"""Files: a job's error report and the per-entity upload templates."""

from __future__ import annotations

from flask import Blueprint, Response

from ...entities import UnknownEntity, get_entity
from ...entities.templates import MEDIA_TYPES, template_file, template_filename
from ...jobs.access import require_job
from ..helpers import error_report_response
from .auth import api_user
from .errors import ApiError

bp = Blueprint("files", __name__)


@bp.get("/bulk-upload/<job_id>/errors")
def error_report(job_id: str):
    """The CSV of the job's rejected rows (row number, columns, messages)."""
    job = require_job(api_user(), job_id)
    response = error_report_response(job)
    if response is None:
        raise ApiError(
            404,
            "This job has no error report: no rows were rejected, or the "
            "report has been cleaned up.",
            "no_error_report",
        )
    return response


@bp.get("/templates/<entity>.csv", defaults={"fmt": "csv"})
@bp.get("/templates/<entity>.xlsx", defaults={"fmt": "xlsx"})
def upload_template(entity: str, fmt: str):
    """The entity's upload template: its columns and an example row."""
    try:
        schema = get_entity(entity)
    except UnknownEntity as exc:
        raise ApiError(404, str(exc), "unknown_entity") from None
    return Response(
        template_file(schema, fmt),
        mimetype=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{template_filename(schema, fmt)}"'},
    )
