"""Review before commit through the API: the analysis of an upload, its mapping, commit and
discard; and the organisation's saved mappings."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request

from ...extensions import db
from ...jobs import review
from ...jobs.access import require_job
from ...jobs.mappings import (
    MappingNotFound,
    delete_saved_mapping,
    describe_saved,
    require_saved_mapping,
    saved_mappings_visible_to,
)
from ...jobs.state import job_state
from ...models import NEEDS_REVIEW, ImportJob, ReviewPolicy
from .auth import api_user
from .errors import ApiError, ok
from .shapes import action_result

bp = Blueprint("review", __name__)


MAPPING_BODY = (
    'Send the mapping as a JSON object: {"columns": {...}, "values": {...}, "formats": {...}}.',
    "missing_mapping",
)


def json_body(required: bool, missing: tuple[str, str] = MAPPING_BODY) -> Any:
    """The request's JSON body; None when it is empty and not ``required`` (``missing``: the
    message and code of a 422 when it is empty and required)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ApiError(422, *missing)
        return None
    if not request.is_json:
        raise ApiError(415, "Send the body as application/json.", "unsupported_media_type")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.", "malformed_json") from None


def _upload_parameter(name: str) -> str | None:
    """An upload's parameter: a multipart form field, else a query-string argument."""
    value = request.form.get(name) if request.mimetype == "multipart/form-data" else None
    return value if value is not None else request.args.get(name)


def upload_options(entity_type: str) -> dict[str, Any]:
    """What an API upload asks of its review and mapping, as ``start_import`` arguments.

    ``review=true`` stops the upload at ``needs_review`` after its analysis; without it the
    file is imported at once, as always. ``mapping_id`` names a saved mapping and
    ``mapping`` passes one inline (JSON text); else a mapping saved for the file's headers,
    if any, is applied.
    """
    raw_review = (_upload_parameter("review") or "false").strip().lower()
    if raw_review not in ("true", "false"):
        raise ApiError(422, "review must be true or false.", "invalid_review")
    options: dict[str, Any] = {"review": ReviewPolicy.ALWAYS if raw_review == "true" else None}
    mapping_id, inline = _upload_parameter("mapping_id"), _upload_parameter("mapping")
    if mapping_id is not None and inline is not None:
        raise ApiError(422, "Pass either mapping_id or mapping, not both.", "invalid_mapping")
    if mapping_id is not None:
        if not mapping_id.isdigit():
            raise ApiError(422, "mapping_id must be the id of a saved mapping.", "invalid_mapping")
        try:
            saved = require_saved_mapping(api_user(), int(mapping_id))
        except MappingNotFound as exc:  # a parameter of the upload, not the URL: 422
            raise ApiError(422, exc.message, exc.code) from None
        if saved.entity_type != entity_type:
            raise ApiError(
                422,
                f"Saved mapping {mapping_id} is for {saved.entity_type}, not {entity_type}.",
                "invalid_mapping",
            )
        options.update(mapping=saved.mapping, saved_mapping_id=saved.id)
    elif inline is not None:
        try:
            data = json.loads(inline)
        except (ValueError, RecursionError):
            raise ApiError(422, "mapping is not valid JSON.", "invalid_mapping") from None
        options["mapping"] = review.checked_choice(data, entity_type)
    return options


def review_shape(job: ImportJob) -> dict[str, Any]:
    """What the analysis of ``job`` found, for the client to review."""
    analysis = job.analysis or {}
    state = job_state(job)
    return {
        "jobId": state["id"],
        "status": state["status"],
        "entity": state["entity_type"],
        "fileName": state["file_name"],
        "mapping": review.analysed_choice(job),
        "mappingNote": state["mapping_note"],
        "problem": analysis.get("problem"),
        "certain": analysis.get("certain", False),
        "entityFits": analysis.get("fits", []),
        "columns": analysis.get("columns", []),
        "unknownValues": analysis.get("unknown_values", {}),
        "readings": analysis.get("readings", []),
        "emptyValues": analysis.get("empty_values", {}),
        "refusedValues": analysis.get("refused_values", {}),
        "notImported": analysis.get("not_imported", []),
        "decisions": analysis.get("decisions", []),
        "importRequested": analysis.get("import_requested"),
        "preview": analysis.get("preview"),
        "counts": analysis.get("counts"),
        "updates": analysis.get("updates", []),
        "rejections": analysis.get("rejections", []),
    }


@bp.get("/jobs/<job_id>/review")
def show_review(job_id: str):
    """The analysis of an upload waiting for its review (409 in any other state)."""
    job = require_job(api_user(), job_id)
    if job.status != NEEDS_REVIEW:
        raise ApiError(409, f"This job is {job.status}, not waiting for a review.", "not_in_review")
    return ok(review_shape(job))


@bp.put("/jobs/<job_id>/mapping")
def put_mapping(job_id: str):
    """Change the mapping of an upload in review; the file is analysed again."""
    job = require_job(api_user(), job_id, "act")
    mapping = json_body(required=True)
    review.change_mapping(job, mapping)
    return ok(action_result(job, "The file is analysed again with this mapping."), 202)


@bp.post("/jobs/<job_id>/commit")
def commit(job_id: str):
    """Import an upload in review with its analysed mapping (or, given a different mapping
    in the body, analyse it again first)."""
    job = require_job(api_user(), job_id, "act")
    mapping = json_body(required=False)
    review.commit_review(job, api_user(), mapping)
    message = (
        "The mapping differs from the one analysed: the file is analysed again, and imported "
        "unless the new analysis needs a decision (then the review lists it in decisions)."
        if job.phase == "analysis"
        else "The import is queued with the reviewed mapping."
    )
    return ok(action_result(job, message), 202)


@bp.post("/jobs/<job_id>/discard")
def discard(job_id: str):
    """Drop an upload in review: canceled, its file removed."""
    job = require_job(api_user(), job_id, "act")
    review.discard_review(job, api_user())
    return ok(action_result(job, "The upload was discarded; nothing was imported."))


@bp.get("/mappings")
def list_mappings():
    """The saved mappings of the user's organisation, newest first."""
    saved = db.session.scalars(saved_mappings_visible_to(api_user())).all()
    return ok({"mappings": [describe_saved(item) for item in saved]})


@bp.delete("/mappings/<int:mapping_id>")
def delete_mapping(mapping_id: int):
    """Forget a saved mapping (admins only)."""
    delete_saved_mapping(api_user(), mapping_id)
    return ok({"id": mapping_id, "deleted": True})
