"""Files: a job's error report and the per-entity upload templates."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_file

from ...entities import UnknownEntity, get_entity
from ...entities.templates import MEDIA_TYPES, template_file, template_filename
from ...jobs.access import require_job
from ...storage import report_file
from .auth import api_user
from .errors import ApiError

bp = Blueprint("files", __name__)


@bp.get("/bulk-upload/<job_id>/errors")
def error_report(job_id: str):
    """The CSV of the job's rejected rows (row number, columns, messages)."""
    job = require_job(api_user(), job_id)
    path = report_file(job.report_path)
    if path is None:
        raise ApiError(
            404,
            "This job has no error report: no rows were rejected, or the "
            "report has been cleaned up.",
            "no_error_report",
        )
    stem = Path(job.original_filename).stem or "upload"
    return send_file(
        path, mimetype="text/csv", as_attachment=True, download_name=f"{stem}-errors.csv", max_age=0
    )


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
