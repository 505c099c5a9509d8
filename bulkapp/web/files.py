"""Downloads: upload templates per entity type and a job's error report."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file
from flask_login import current_user

from ..jobs.access import find_job
from ..entities import UnknownEntity, get_entity
from ..entities.templates import MEDIA_TYPES, TEMPLATE_FORMATS, template_file, template_filename

bp = Blueprint("files", __name__)


@bp.route(f"/templates/<entity>.<any({', '.join(TEMPLATE_FORMATS)}):fmt>")
def template(entity: str, fmt: str):
    """The upload template of ``entity`` as CSV or XLSX."""
    try:
        schema = get_entity(entity)
    except UnknownEntity:
        abort(404)
    return send_file(io.BytesIO(template_file(schema, fmt)), mimetype=MEDIA_TYPES[fmt],
                     as_attachment=True, download_name=template_filename(schema, fmt), max_age=0)


def _report_file(report_path: str | None) -> Path | None:
    """The stored report, if it exists inside ``REPORT_DIR`` (nothing else is ever served)."""
    if not report_path:
        return None
    path = Path(report_path).resolve()
    if not path.is_relative_to(Path(current_app.config["REPORT_DIR"]).resolve()):
        return None
    return path if path.is_file() else None


@bp.route("/jobs/<job_id>/errors.csv")
def error_report(job_id: str):
    """The CSV of a job's rejected rows, named after the upload."""
    job = find_job(current_user, job_id)
    path = _report_file(job.report_path) if job is not None else None
    if path is None:
        abort(404)
    stem = Path(job.original_filename).stem or "upload"
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"{stem}-errors.csv", max_age=0)
