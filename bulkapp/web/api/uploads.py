"""Job creation: ``POST /bulk-upload/<entity>`` (JSON array or file) and ``/process``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, current_app, request

from ...entities import UnknownEntity, get_entity
from ...extensions import limiter
from ...jobs.idempotency import start_import_once
from ...jobs.imports import ALLOWED_EXTENSIONS
from ...models import MODES, ImportJob
from ..guard import body_is_file
from .auth import api_user
from .errors import ApiError, ok
from .review import upload_options
from .shapes import job_accepted, process_accepted

bp = Blueprint("uploads", __name__)

SCALARS = (str, int, float, bool, type(None))
MAX_IDEMPOTENCY_KEY_LENGTH = 200
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")
# The top-level message of an upload's answer; the first is the members guide's wording.
QUEUED_HEADLINE = "Bulk upload queued successfully"
REPLAYED_HEADLINE = "Bulk upload already queued"
STORED_HEADLINE = "Bulk upload stored; it will be queued shortly"
QUEUE_DOWN_MESSAGE = (
    "The job is stored, but the job queue is unavailable right now; "
    "processing will start automatically when it is back."
)


def _rate() -> str:
    return current_app.config["API_UPLOAD_RATE_LIMIT"]


def _per_user() -> str:
    return f"user:{api_user().id}"


def _rate_message() -> str:
    return (
        f"Too many uploads: the limit is {_rate()} per user. "
        "Wait for the time given in Retry-After and try again."
    )


upload_limit = limiter.shared_limit(
    _rate, scope="api-uploads", key_func=_per_user, error_message=_rate_message
)


def _mode(raw: str | None) -> str:
    mode = (raw or "partial").strip()
    if mode not in MODES:
        raise ApiError(
            422, f"Unknown mode {mode!r}. Choose one of: {', '.join(MODES)}.", "invalid_mode"
        )
    return mode


def _check_records(records: Any) -> None:
    """Raise 422 unless ``records`` is a non-empty array of flat objects."""
    if not isinstance(records, list):
        raise ApiError(
            422,
            "The body must be a JSON array of records, e.g. "
            '[{"firstName": "John", "lastName": "Doe"}].',
            "not_an_array",
        )
    if not records:
        raise ApiError(422, "The array is empty: send at least one record.", "empty_array")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not record:
            raise ApiError(
                422,
                f"Record {number} is not an object with fields: each record "
                'must be {"field": value, ...}.',
                "invalid_record",
            )
        for field, value in record.items():
            if not isinstance(value, SCALARS):
                raise ApiError(
                    422,
                    f"Record {number}, field {field!r}: values must be text, "
                    "numbers, true/false or null.",
                    "invalid_record",
                )


def _json_records() -> bytes:
    """The request's JSON array, checked and serialised again as a ``.json`` file."""
    try:
        records = json.loads(request.get_data(cache=False), parse_int=_whole_number)
    except RecursionError:
        raise ApiError(
            422, "The JSON is nested too deeply: send a flat array of records.", "invalid_record"
        ) from None
    except ValueError as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}.", "malformed_json") from None
    _check_records(records)
    # ASCII with escapes: a lone surrogate ("\ud800") cannot be encoded as UTF-8 otherwise;
    # validation rejects its row.
    return json.dumps(records).encode("ascii")


def _whole_number(digits: str) -> int | str:
    """A JSON integer; past what ``int`` reads (4,300 digits) its digits as text, so that
    validation rejects the row rather than the whole request."""
    try:
        return int(digits)
    except ValueError:
        return digits


def _uploaded_file() -> tuple[IO[bytes], str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(
            422, "Send the file in a multipart/form-data field called 'file'.", "missing_file"
        )
    extension = Path(upload.filename).suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise ApiError(
            415,
            f"{upload.filename} is not a supported file type. "
            f"Upload one of: {', '.join(ALLOWED_EXTENSIONS)}.",
            "unsupported_file_type",
        )
    return upload.stream, upload.filename


def _idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header's value, checked; None when absent."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not _VISIBLE_ASCII.match(key):
        raise ApiError(
            422,
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible "
            "ASCII characters (a UUID is a good choice).",
            "invalid_idempotency_key",
        )
    return key


def _create_job(entity_type: str, *, allow_json: bool) -> tuple[ImportJob, bool, bool]:
    """Read the upload in whichever form it came, then start (or replay) its import."""
    if request.mimetype == "multipart/form-data":
        stream, filename = _uploaded_file()
        mode = _mode(request.form.get("mode") or request.args.get("mode"))
    elif allow_json and request.is_json:
        stream = io.BytesIO(_json_records())
        filename = f"{entity_type}.json"
        mode = _mode(request.args.get("mode"))
    else:
        accepted = "a JSON array (Content-Type: application/json) or " if allow_json else ""
        raise ApiError(
            415,
            f"Send {accepted}a multipart/form-data upload with a 'file' field.",
            "unsupported_media_type",
        )
    options = upload_options(entity_type)
    key = _idempotency_key()
    return start_import_once(
        user=api_user(),
        key=key,
        entity_type=entity_type,
        stream=stream,
        filename=filename,
        mode=mode,
        **options,
    )


def _message(job: ImportJob, enqueued: bool, replayed: bool) -> str:
    if replayed:
        return "This Idempotency-Key was used before: this is the job it created."
    if not enqueued:
        return QUEUE_DOWN_MESSAGE
    return f"{job.original_filename} was accepted and is waiting for a worker."


def _headline(enqueued: bool, replayed: bool) -> str:
    if replayed:
        return REPLAYED_HEADLINE
    return QUEUED_HEADLINE if enqueued else STORED_HEADLINE


def _replay_header(replayed: bool) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if replayed else {}


@bp.post("/bulk-upload/<entity>")
@upload_limit
@body_is_file
def upload_entity(entity: str):
    """Create an import job from a JSON array of records or a multipart ``file``."""
    try:
        entity_type = get_entity(entity).name
    except UnknownEntity as exc:
        raise ApiError(404, str(exc), "unknown_entity") from None
    job, enqueued, replayed = _create_job(entity_type, allow_json=True)
    accepted = job_accepted(job, _message(job, enqueued, replayed))
    return ok(
        accepted,
        202,
        {"Location": accepted["statusUrl"], **_replay_header(replayed)},
        _headline(enqueued, replayed),
    )


@bp.post("/bulk-upload/process")
@upload_limit
def process_upload():
    """Create an import job from a multipart ``file`` (+ ``entity``), as in the members guide."""
    entity = (request.form.get("entity") or "members").strip()
    try:
        entity_type = get_entity(entity).name
    except UnknownEntity as exc:
        raise ApiError(422, str(exc), "unknown_entity") from None
    job, enqueued, replayed = _create_job(entity_type, allow_json=False)
    accepted = process_accepted(job, _message(job, enqueued, replayed))
    return ok(
        accepted,
        202,
        {"Location": accepted["status_url"], **_replay_header(replayed)},
        _headline(enqueued, replayed),
    )
