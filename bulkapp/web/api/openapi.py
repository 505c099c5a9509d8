"""The OpenAPI 3.1 document of the API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ...entities import REGISTRY
from ...jobs.queues import worker_queue_names
from ...models import STATUSES
from ..helpers import API_URL_PREFIX, public
from .openapi_schemas import (
    INTEGER,
    MODE,
    NULLABLE_STRING,
    RESPONSES,
    SCHEMAS,
    STRING,
    envelope,
    json_content,
    obj,
    ref,
    upload_envelope,
)

bp = Blueprint("openapi", __name__)

Operation = dict[str, Any]

ENTITY = {"type": "string", "enum": sorted(REGISTRY)}


def _path_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


JOB_ID = _path_param("jobId", {"type": "string"}, "The job id returned by the upload.")
MAPPING_ID = _path_param("mappingId", {"type": "integer"}, "A saved mapping's id.")
USER_ID = _path_param("userId", {"type": "integer"}, "The person's id.")
ENTITY_PARAM = _path_param("entity", ENTITY, "The entity type.")


REJECTED_PARAMETERS = [
    {
        "name": "reason",
        "in": "query",
        "description": "Only rows with this problem (a message without the values it quotes).",
        "schema": {"type": "string"},
    },
    {
        "name": "column",
        "in": "query",
        "description": "Only rows with a problem in this column (its header).",
        "schema": {"type": "string"},
    },
    {
        "name": "state",
        "in": "query",
        "schema": {"type": "string", "enum": ["invalid", "fixed", "sent"]},
    },
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string"},
        "description": "nextCursor or previousCursor of a page (with the same filters).",
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    },
]


def _operation(
    summary: str,
    ok_status: str,
    ok_schema: dict[str, Any] | None,
    errors: tuple[str, ...],
    *,
    parameters: list | None = None,
    body: dict[str, Any] | None = None,
    public_route: bool = False,
    ok_content: dict[str, Any] | None = None,
) -> Operation:
    """One operation: its summary, success response and the error codes it can answer."""
    content = ok_content if ok_content is not None else json_content(envelope(ok_schema or {}))
    # Every route may answer the guard's 400 (a control character) and 414 (too long an address).
    codes = sorted({"400", "414", *errors, *(() if public_route else ("401",))})
    operation: Operation = {
        "summary": summary,
        "responses": {
            ok_status: {"description": summary, "content": content},
            **{code: {"$ref": f"#/components/responses/{code}"} for code in codes},
        },
    }
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    if public_route:
        operation["security"] = []
    return operation


def _bulk_fix_operation(*args: Any, **kwargs: Any) -> Operation:
    """The bulk fix operation: 200 when made at once, 202 with a BulkFix when queued."""
    operation = _operation(*args, **kwargs)
    summary = "Queued: too many rows for one request; follow it at its statusUrl."
    operation["responses"]["202"] = {
        "description": summary,
        "content": json_content(envelope(ref("BulkFix"))),
    }
    return operation


def _mapping_operation(summary: str, *, required: bool) -> Operation:
    """An action on an upload in review that takes a Mapping as its body."""
    return _operation(
        summary,
        "202",
        ref("ActionResult"),
        ("400", "403", "404", "409", "415", "422", "503"),
        parameters=[JOB_ID],
        body={"required": required, "content": json_content(ref("Mapping"))},
    )


UPLOAD_ERRORS = ("400", "404", "409", "413", "415", "422", "429", "503")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeat a request with the same key to get the same job.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
}
FILE_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "A .csv, .xlsx or .json file.",
        },
        "mode": MODE,
        "review": {"type": "string", "enum": ["true", "false"], "default": "false"},
        "mapping_id": {"type": "string", "pattern": "^[0-9]+$"},
        "mapping": {"type": "string", "description": "A Mapping as JSON text."},
    },
}
# An upload's review and mapping, as query arguments (a multipart form may carry them too).
REVIEW_PARAMETERS = [
    {
        "name": "review",
        "in": "query",
        "description": "true: analyse the file and wait at needs_review for a commit.",
        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
    },
    {
        "name": "mapping_id",
        "in": "query",
        "description": "Use this saved mapping (GET /mappings).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "mapping",
        "in": "query",
        "description": "A Mapping as JSON text.",
        "schema": {"type": "string"},
    },
]


RECORD_PARAMETERS = [
    {
        "name": "organisation",
        "in": "query",
        "description": "super_admin: the organisation's slug (default: your own).",
        "schema": {"type": "string"},
    },
]
RECORD_LIST_PARAMETERS = [
    {
        "name": "q",
        "in": "query",
        "description": "Search: every word starts the natural key, a name, an e-mail address or "
        "a phone number (or the whole query starts one); A-Z in any case.",
        "schema": {"type": "string", "maxLength": 200},
    },
    {
        "name": "sort",
        "in": "query",
        "description": "added, or a searched field's label; '-' before it for descending. "
        "Default: -added (newest first).",
        "schema": {"type": "string"},
    },
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string"},
        "description": "nextCursor of the previous page (with the same sort).",
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    {
        "name": "filters",
        "in": "query",
        "style": "form",
        "explode": True,
        "description": "A filter per field, named by its label: a field with a list of values "
        "takes one or more of them (province=Gauteng&province=Limpopo), dates and numbers a "
        "range (<label>From, <label>To, inclusive), any other field the start of its value.",
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
    },
]


def _paths() -> dict[str, dict[str, Operation]]:
    csv = {"text/csv": {"schema": {"type": "string"}}}
    xlsx = {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        }
    }
    action_errors = ("403", "404", "409", "503")
    return {
        "/bulk-upload/{entity}": {
            "post": _operation(
                "Upload records of one entity type: a JSON array or a multipart file.",
                "202",
                None,
                UPLOAD_ERRORS,
                ok_content=json_content(upload_envelope(ref("JobAccepted"))),
                parameters=[
                    ENTITY_PARAM,
                    {"name": "mode", "in": "query", "schema": MODE},
                    *REVIEW_PARAMETERS,
                    IDEMPOTENCY_KEY,
                ],
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "minItems": 1, "items": ref("Record")}
                        },
                        "multipart/form-data": {"schema": FILE_FORM},
                    },
                },
            )
        },
        "/bulk-upload/process": {
            "post": _operation(
                "Upload a file (members guide).",
                "202",
                None,
                UPLOAD_ERRORS,
                ok_content=json_content(upload_envelope(ref("ProcessAccepted"))),
                parameters=[*REVIEW_PARAMETERS, IDEMPOTENCY_KEY],
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                **FILE_FORM,
                                "properties": {
                                    **FILE_FORM["properties"],
                                    "entity": {**ENTITY, "default": "members"},
                                },
                            }
                        }
                    },
                },
            )
        },
        "/bulk-upload/status/{jobId}": {
            "get": _operation(
                "A job's status and stats (members guide).",
                "200",
                ref("UploadStatus"),
                ("404", "503"),
                parameters=[JOB_ID],
            )
        },
        "/jobs/{queueName}/{jobId}/status": {
            "get": _operation(
                "A job's status and result (queue API).",
                "200",
                ref("QueueJobStatus"),
                ("404", "503"),
                parameters=[
                    _path_param("queueName", {"type": "string"}, "The job's queue."),
                    JOB_ID,
                ],
            )
        },
        "/queues/stats": {
            "get": _operation("Figures of every queue.", "200", {"type": "object"}, ("503",))
        },
        "/queues/{queueName}/stats": {
            "get": _operation(
                "Figures of one queue.",
                "200",
                ref("QueueStats"),
                ("404", "503"),
                parameters=[
                    _path_param(
                        "queueName",
                        {"type": "string", "enum": worker_queue_names()},
                        "A queue name.",
                    )
                ],
            )
        },
        "/bulk-upload/queue/stats": {
            "get": _operation(
                "The import queues' figures, added up.", "200", ref("QueueStats"), ("503",)
            )
        },
        "/bulk-upload/queue/jobs": {
            "get": _operation(
                "Jobs the user may see, newest first, a page at a time.",
                "200",
                ref("JobList"),
                ("422", "503"),
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["pending", *STATUSES]},
                    },
                    {"name": "entity", "in": "query", "schema": ENTITY},
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "nextCursor of the previous page.",
                    },
                ],
            )
        },
        "/bulk-upload/queue/retry/{jobId}": {
            "post": _operation(
                "Retry a failed or canceled job.",
                "202",
                ref("ActionResult"),
                action_errors,
                parameters=[JOB_ID],
            )
        },
        "/bulk-upload/cancel/{jobId}": {
            "post": _operation(
                "Cancel a queued or running job.",
                "200",
                ref("ActionResult"),
                action_errors,
                parameters=[JOB_ID],
            )
        },
        "/bulk-upload/{jobId}/undo": {
            "get": _operation(
                "What undoing a completed import would do now: records removed (inserted by "
                "it), restored (updated by it) and kept (changed since by a later import).",
                "200",
                ref("UndoPreview"),
                ("404", "409", "503"),
                parameters=[JOB_ID],
            ),
            "post": _operation(
                "Undo a completed import (its uploader or an administrator): queued as a job "
                "of its own; an import is undone at most once, within JOB_RETENTION_HOURS.",
                "202",
                ref("UndoAccepted"),
                action_errors,
                parameters=[JOB_ID],
            ),
        },
        "/jobs/{jobId}/review": {
            "get": _operation(
                "What the analysis of an upload in review found: mapping, preview, counts.",
                "200",
                ref("Review"),
                ("404", "409", "503"),
                parameters=[JOB_ID],
            )
        },
        "/jobs/{jobId}/mapping": {
            "put": _mapping_operation(
                "Change the mapping of an upload in review; the file is analysed again.",
                required=True,
            )
        },
        "/jobs/{jobId}/commit": {
            "post": _mapping_operation(
                "Import an upload in review with its analysed mapping (a different mapping in "
                "the body is analysed first).",
                required=False,
            )
        },
        "/jobs/{jobId}/discard": {
            "post": _operation(
                "Discard an upload in review: canceled, its file removed.",
                "200",
                ref("ActionResult"),
                action_errors,
                parameters=[JOB_ID],
            )
        },
        "/mappings": {
            "get": _operation(
                "The organisation's saved mappings, newest first.",
                "200",
                ref("SavedMappingList"),
                ("503",),
            )
        },
        "/mappings/{mappingId}": {
            "delete": _operation(
                "Delete a saved mapping (administrators).",
                "200",
                obj({"id": {"type": "integer"}, "deleted": {"type": "boolean"}}),
                ("403", "404", "503"),
                parameters=[MAPPING_ID],
            )
        },
        "/bulk-upload/queue/requeue": {
            "post": _operation(
                "Requeue every failed job (administrators).",
                "202",
                obj({"requeued": {"type": "integer"}}),
                ("403", "503"),
            )
        },
        "/bulk-upload/queue/clean": {
            "post": _operation(
                "Clean up finished jobs older than the grace period (administrators).",
                "200",
                {"type": "object", "required": ["gracePeriodHours"]},
                ("400", "403", "415", "422", "503"),
                body={
                    "required": False,
                    "content": json_content(
                        obj(
                            {
                                "gracePeriodHours": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 87600,
                                    "default": 24,
                                }
                            },
                            required=[],
                        )
                    ),
                },
            )
        },
        "/bulk-upload/{jobId}/errors": {
            "get": _operation(
                "The CSV report of a job's rejected rows, named (Content-Disposition) "
                "<file>-errors-<jobId>-<signature>.csv: uploaded again under that name it is a "
                "follow-up of the job.",
                "200",
                None,
                ("404", "503"),
                parameters=[JOB_ID],
                ok_content=csv,
            )
        },
        "/bulk-upload/{jobId}/rejected": {
            "get": _operation(
                "A job's rejected rows in row order, a page at a time (the fix page's rows). "
                "For a job waiting in review, the rows its dry run predicts will be rejected: "
                "edits of them (PATCH, bulk) are fixes of the file, which the import reads "
                "once the review is committed.",
                "200",
                obj(
                    {
                        "columns": {"type": "array", "items": STRING},
                        "rows": {"type": "array", "items": ref("RejectedRow")},
                        "counts": ref("FixCounts"),
                        "limit": INTEGER,
                        "nextCursor": NULLABLE_STRING,
                        "previousCursor": NULLABLE_STRING,
                    }
                ),
                ("404", "422", "503"),
                parameters=[JOB_ID, *REJECTED_PARAMETERS],
            )
        },
        "/bulk-upload/{jobId}/rejected/{row}": {
            "patch": _operation(
                "Change cells of a rejected row; it is checked again at once, as the import "
                "checks rows (the duplicate rule included).",
                "200",
                ref("RejectedRow"),
                ("400", "403", "404", "409", "415", "422", "503"),
                parameters=[
                    JOB_ID,
                    _path_param("row", {"type": "integer"}, "The row's number in the file."),
                ],
                body={
                    "required": True,
                    "content": json_content(
                        obj(
                            {
                                "cells": {
                                    "type": "object",
                                    "minProperties": 1,
                                    "additionalProperties": {"type": ["string", "number", "null"]},
                                    "description": "New values by column (header); empty "
                                    "or null empties a cell.",
                                }
                            }
                        )
                    ),
                },
            )
        },
        "/bulk-upload/{jobId}/rejected/bulk": {
            "post": _bulk_fix_operation(
                "Fix one column of many rejected rows: set a value, replace text in it, or "
                "leave it empty (an optional field); each changed row is checked again. At "
                "most BULK_FIX_SYNC_MAX_ROWS rows (2,000 by default) are changed at once (200, "
                "how many changed); more are changed by a worker (202, a BulkFix to follow at "
                "its statusUrl), a batch at a time, and until it ends the job's rows cannot be "
                "edited, sent or bulk-fixed (409 bulk_fix_running).",
                "200",
                obj({"changed": INTEGER, "counts": ref("FixCounts")}),
                ("400", "403", "404", "409", "415", "422", "503"),
                parameters=[JOB_ID],
                body={
                    "required": True,
                    "content": json_content(
                        obj(
                            {
                                "action": {"type": "string", "enum": ["set", "replace", "empty"]},
                                "column": STRING,
                                "value": NULLABLE_STRING,
                                "find": STRING,
                                "rows": {
                                    "type": "array",
                                    "items": INTEGER,
                                    "description": "These rows (default: every row the "
                                    "filter lets through).",
                                },
                                "filter": obj(
                                    {"reason": STRING, "column": STRING, "state": STRING},
                                    required=[],
                                ),
                            },
                            required=["action", "column"],
                        )
                    ),
                },
            )
        },
        "/bulk-upload/{jobId}/rejected/bulk/{fixId}": {
            "get": _operation(
                "How far a bulk fix made by a worker got (poll it until completed or failed).",
                "200",
                ref("BulkFix"),
                ("404", "503"),
                parameters=[
                    JOB_ID,
                    _path_param("fixId", STRING, "The bulkFixId of the 202 answer."),
                ],
            )
        },
        "/bulk-upload/{jobId}/resubmit": {
            "post": _operation(
                "Send the job's fixed rows as a new import linked to it; rows still invalid "
                "stay to be fixed. A job waiting in review answers 409 (in_review): its fixed "
                "rows are imported with the file when the review is committed. A "
                "validate-only job's new import is of its whole file (mode partial), each "
                "fixed row read as fixed (409 file_gone once its upload was cleaned up).",
                "202",
                {
                    "allOf": [
                        ref("JobAccepted"),
                        obj({"fixesJobId": STRING, "sentRows": INTEGER}),
                    ]
                },
                action_errors,
                parameters=[JOB_ID],
            )
        },
        "/templates/{entity}.csv": {
            "get": _operation(
                "An empty CSV template with the entity's columns.",
                "200",
                None,
                ("404",),
                parameters=[ENTITY_PARAM],
                ok_content=csv,
            )
        },
        "/templates/{entity}.xlsx": {
            "get": _operation(
                "An XLSX template with the entity's columns.",
                "200",
                None,
                ("404",),
                parameters=[ENTITY_PARAM],
                ok_content=xlsx,
            )
        },
        "/users": {
            "get": _operation(
                "Admins: the people of their organisation (super_admin: everyone, or one "
                "organisation with ?organisation=<slug>).",
                "200",
                ref("UserList"),
                ("403", "404"),
                parameters=[{"name": "organisation", "in": "query", "schema": {"type": "string"}}],
            ),
            "post": _operation(
                "Admins: invite a person by e-mail (a one-time link to set a password). The role "
                "may not be above the admin's own.",
                "201",
                ref("User"),
                ("400", "403", "404", "409", "415", "422"),
                body={"required": True, "content": json_content(ref("Invitation"))},
            ),
        },
        "/users/{userId}": {
            "get": _operation(
                "Admins: one person.", "200", ref("User"), ("403", "404"), parameters=[USER_ID]
            ),
            "patch": _operation(
                "Admins: change a person's role and/or deactivate or reactivate them. Nobody "
                "changes themselves or a person above their own role.",
                "200",
                ref("User"),
                ("400", "403", "404", "415", "422"),
                parameters=[USER_ID],
                body={"required": True, "content": json_content(ref("UserChange"))},
            ),
        },
        "/records/{entity}": {
            "get": _operation(
                "The organisation's records of an entity type, a page at a time: search (q), "
                "a filter per field, sort. super_admin: ?organisation=<slug>.",
                "200",
                ref("RecordList"),
                ("404", "422", "503"),
                parameters=[ENTITY_PARAM, *RECORD_PARAMETERS, *RECORD_LIST_PARAMETERS],
            )
        },
        "/records/{entity}/{key}": {
            "get": _operation(
                "One record by its natural key (URL-encoded): the e-mail address of a mechanic "
                "or service provider, a policy's number, a member's ID number.",
                "200",
                ref("RecordDetail"),
                ("404", "503"),
                parameters=[
                    ENTITY_PARAM,
                    _path_param("key", {"type": "string"}, "The record's natural key."),
                    *RECORD_PARAMETERS,
                ],
            )
        },
        "/users/{userId}/invitation": {
            "post": _operation(
                "Admins: mail an invited person a new link to set their password (earlier "
                "links keep working until they expire); 409 once they have set one.",
                "202",
                ref("User"),
                ("403", "404", "409"),
                parameters=[USER_ID],
            ),
        },
        "/healthz": {
            "get": _operation(
                "Liveness: the web process answers.", "200", ref("Health"), (), public_route=True
            )
        },
        "/readyz": {
            "get": _operation(
                "Readiness: the database and Redis answer; the upload and report folders are "
                "writable.",
                "200",
                ref("Ready"),
                ("503",),
                public_route=True,
            )
        },
        "/openapi.json": {
            "get": _operation(
                "This document.",
                "200",
                None,
                (),
                public_route=True,
                ok_content=json_content({"type": "object"}),
            )
        },
    }


def build_document() -> dict[str, Any]:
    """The whole OpenAPI document; paths carry the ``/api/v1`` prefix."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bulkapp API",
            "version": "1.0.0",
            "description": "Upload bulk records and follow their import jobs. "
            "Authenticate with 'Authorization: Bearer <token>'.",
        },
        "paths": {API_URL_PREFIX + path: item for path, item in _paths().items()},
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


@bp.get("/openapi.json", endpoint="openapi_document")
@public
def openapi_document():
    """The OpenAPI document (plain, without the envelope, as tools expect)."""
    return build_document()
