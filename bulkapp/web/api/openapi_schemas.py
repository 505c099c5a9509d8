"""Component schemas and shared responses of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ...models import MODES, ROLES, STATUSES

Schema = dict[str, Any]

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
# UTC with milliseconds, as JavaScript's toISOString() writes it: 2024-01-01T10:00:00.000Z
TIMESTAMP = {
    "type": ["string", "null"],
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
}
INTEGER = {"type": "integer"}
ATTEMPTS = {
    "type": "integer",
    "description": "Attempts at the import itself (a retry adds one), as the job page counts "
    "them; the analyses for the review are counted apart in analyses.",
}
ANALYSES = {
    "type": "integer",
    "description": "Analyses of the file for its review (each mapping change analyses it again).",
}
PROGRESS = {"type": "integer", "minimum": 0, "maximum": 100}
STATS = {"type": "object", "additionalProperties": True}
JOB_STATUS = {"type": "string", "enum": list(STATUSES)}
GUIDE_JOB_STATUS = {"type": "string", "enum": ["pending", *STATUSES[1:]]}
MODE = {"type": "string", "enum": list(MODES), "default": "partial"}
ROLE = {"type": "string", "enum": list(ROLES)}


def obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    """An object schema; every property is required unless ``required`` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def ref(name: str) -> Schema:
    """A reference to ``components/schemas/name``."""
    return {"$ref": f"#/components/schemas/{name}"}


QUEUE_FIGURES = ("waiting", "active", "completed", "failed", "delayed", "paused", "total")

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "success": {"const": False},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": STRING,
                    "message": STRING,
                    "checks": {
                        "type": "object",
                        "additionalProperties": STRING,
                        "description": "Readiness only: each check and its state.",
                    },
                },
            },
        }
    ),
    "Record": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    },
    "JobAccepted": obj(
        {
            "jobId": STRING,
            "status": JOB_STATUS,
            "queueName": STRING,
            "statusUrl": STRING,
            "message": STRING,
        }
    ),
    "ProcessAccepted": obj(
        {
            "job_id": STRING,
            "status": GUIDE_JOB_STATUS,
            "file_name": STRING,
            "status_url": STRING,
            "message": STRING,
        }
    ),
    "UploadStatus": obj(
        {
            "job_id": STRING,
            "status": GUIDE_JOB_STATUS,
            "entity": STRING,
            "mode": STRING,
            "file_name": STRING,
            "uploaded_by": NULLABLE_STRING,
            "processing_duration_ms": {"type": ["integer", "null"]},
            "validation_stats": STATS,
            "database_stats": STATS,
            "progress": PROGRESS,
            "stage": STRING,
            "counts": {"type": "object", "additionalProperties": INTEGER},
            "warnings": {"type": "array", "items": STRING},
            "error_message": NULLABLE_STRING,
            "failure_kind": {
                "type": ["string", "null"],
                "description": "Why the job failed: a file problem (empty_file, wrong_type, "
                "unreadable, columns, invalid_rows, value_refused, file_gone) or an outage "
                "(database, redis, worker_lost, timeout, unexpected).",
            },
            "retryable": {
                "type": "boolean",
                "description": "A retry can help (failed by an outage, or canceled).",
            },
            "needs_corrected_file": {
                "type": "boolean",
                "description": "Failed on its file: upload a corrected file instead of a retry.",
            },
            "errors_url": NULLABLE_STRING,
            "created_at": TIMESTAMP,
            "started_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
            "undoes_job_id": {
                **NULLABLE_STRING,
                "description": "An undo: the import it takes back.",
            },
            "undone_by_job_id": {
                **NULLABLE_STRING,
                "description": "An import that was undone: its undo job.",
            },
            "undo_counts": {
                "type": ["object", "null"],
                "description": "An undo: records removed, restored and kept so far.",
                "properties": {"removed": INTEGER, "restored": INTEGER, "kept": INTEGER},
            },
        }
    ),
    "JobResult": {
        "type": ["object", "null"],
        "required": ["success", "uploaded", "message"],
        "properties": {"success": {"type": "boolean"}, "uploaded": INTEGER, "message": STRING},
    },
    "QueueJobStatus": obj(
        {
            "jobId": STRING,
            "queueName": NULLABLE_STRING,
            "status": JOB_STATUS,
            "progress": PROGRESS,
            "stage": STRING,
            "result": ref("JobResult"),
            "createdAt": TIMESTAMP,
            "completedAt": TIMESTAMP,
        }
    ),
    "JobSummary": obj(
        {
            "jobId": STRING,
            "queueName": NULLABLE_STRING,
            "entity": STRING,
            "fileName": STRING,
            "status": JOB_STATUS,
            "progress": PROGRESS,
            "stage": STRING,
            "attempts": ATTEMPTS,
            "analyses": ANALYSES,
            "createdAt": TIMESTAMP,
            "completedAt": TIMESTAMP,
            "statusUrl": STRING,
            "undoesJobId": {**NULLABLE_STRING, "description": "An undo: the import it undoes."},
            "undoneByJobId": {**NULLABLE_STRING, "description": "An undone import: its undo."},
        }
    ),
    "JobList": obj(
        {
            "jobs": {"type": "array", "items": ref("JobSummary")},
            "limit": INTEGER,
            "nextCursor": NULLABLE_STRING,
        }
    ),
    "QueueStats": {
        "type": "object",
        "required": list(QUEUE_FIGURES),
        "properties": {name: INTEGER for name in QUEUE_FIGURES},
    },
    "ActionResult": obj(
        {
            "jobId": STRING,
            "status": JOB_STATUS,
            "attempts": ATTEMPTS,
            "analyses": ANALYSES,
            "statusUrl": STRING,
            "message": STRING,
        }
    ),
    "UndoAccepted": obj(
        {
            "jobId": {**STRING, "description": "The undo's own job: poll it like an import."},
            "undoesJobId": STRING,
            "status": JOB_STATUS,
            "attempts": ATTEMPTS,
            "analyses": ANALYSES,
            "statusUrl": STRING,
            "message": STRING,
        }
    ),
    "UndoPreview": obj(
        {
            "jobId": STRING,
            "undoableUntil": {
                **TIMESTAMP,
                "description": "JOB_RETENTION_HOURS after the import finished.",
            },
            "removed": {**INTEGER, "description": "Records the import inserted, removed."},
            "restored": {**INTEGER, "description": "Records the import updated, restored."},
            "kept": {**INTEGER, "description": "Records changed since: kept as they are."},
            "conflicts": {
                "type": "array",
                "description": "The first 100 kept records.",
                "items": obj(
                    {
                        "key": NULLABLE_STRING,
                        "reason": {
                            **STRING,
                            "examples": ["kept: changed by the upload of 4 Dec (b.csv)"],
                        },
                        "changedByJobId": NULLABLE_STRING,
                    }
                ),
            },
        }
    ),
    "Mapping": {
        "type": "object",
        "required": ["columns"],
        "additionalProperties": False,
        "description": "Which field each file column feeds (null: ignored), what values of "
        "the file mean (an enum field's choice, or null: leave empty, optional fields only), and "
        "how number and date columns write values that read two ways (1,250: decimal_point "
        "reads 1250, decimal_comma 1.25; 03/04/2026: day_first or month_first). Fields by name "
        "(mobile_number) or label (mobileNumber).",
        "properties": {
            "columns": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": NULLABLE_STRING,
            },
            "values": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": NULLABLE_STRING,
                },
            },
            "formats": {
                "type": "object",
                "additionalProperties": {
                    "type": "string",
                    "enum": ["decimal_point", "decimal_comma", "day_first", "month_first"],
                },
            },
        },
    },
    "Review": obj(
        {
            "jobId": STRING,
            "status": JOB_STATUS,
            "entity": STRING,
            "fileName": STRING,
            "mapping": ref("Mapping"),
            "mappingNote": NULLABLE_STRING,
            "problem": NULLABLE_STRING,
            "certain": {"type": "boolean"},
            "entityFits": {"type": "array", "items": {"type": "object"}},
            "columns": {"type": "array", "items": {"type": "object"}},
            "unknownValues": {"type": "object"},
            "readings": {
                "type": "array",
                "items": {"type": "object"},
                "description": "How each number and date column was read: format, where it "
                "came from (mapping, file, default), an example, values that read two ways.",
            },
            "emptyValues": {"type": "object", "description": "Values read as empty, per field."},
            "refusedValues": {
                "type": "object",
                "description": "Values of optional fields that are not accepted, per field (a "
                "mapping may leave them empty).",
            },
            "notImported": {
                "type": "array",
                "items": {"type": "object"},
                "description": "Columns holding values that no field reads: header, rows "
                "with a value, first values, the field they might be.",
            },
            "decisions": {
                "type": "array",
                "items": STRING,
                "description": "What a person must decide before the file imports without "
                "asking (empty when certain).",
            },
            "importRequested": {
                "type": ["object", "null"],
                "description": "Set when a commit with a changed mapping stopped at this "
                "review: by (user id) and changes (what the mapping changed).",
            },
            "preview": {"type": ["object", "null"]},
            "counts": {"type": ["object", "null"], "additionalProperties": INTEGER},
            "updates": {"type": "array", "items": {"type": "object"}},
            "rejections": {"type": "array", "items": {"type": "object"}},
        }
    ),
    "SavedMapping": obj(
        {
            "id": INTEGER,
            "entity": STRING,
            "headers": {"type": "array", "items": STRING},
            "mapping": ref("Mapping"),
            "createdBy": NULLABLE_STRING,
            "createdAt": TIMESTAMP,
        }
    ),
    "SavedMappingList": obj({"mappings": {"type": "array", "items": ref("SavedMapping")}}),
    "User": obj(
        {
            "id": INTEGER,
            "email": STRING,
            "name": STRING,
            "role": ROLE,
            "organisation": {"type": "string", "description": "The organisation's slug."},
            "active": {"type": "boolean"},
            "invitationPending": {
                "type": "boolean",
                "description": "Invited, password not set yet: cannot sign in.",
            },
            "lastSignInAt": TIMESTAMP,
            "createdAt": TIMESTAMP,
        }
    ),
    "UserList": obj({"users": {"type": "array", "items": ref("User")}}),
    "Invitation": obj(
        {
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "role": ROLE,
            "name": {"type": "string", "maxLength": 200},
            "organisation": {
                "type": "string",
                "description": "Slug of the organisation (super_admin only; default: yours).",
            },
        },
        required=["email"],
    ),
    "UserChange": {
        **obj({"role": ROLE, "active": {"type": "boolean"}}, required=[]),
        "minProperties": 1,
    },
    "StoredRecord": {
        "type": "object",
        "description": "A record: its fields by label (dates as YYYY-MM-DD, decimals as text, "
        "whole numbers as numbers, null when empty), when it was added and last changed, the "
        "import that last changed it and its URL.",
        "required": ["createdAt", "updatedAt", "lastImportJobId", "url"],
        "properties": {
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "lastImportJobId": NULLABLE_STRING,
            "url": STRING,
        },
        "additionalProperties": {"type": ["string", "integer", "null"]},
    },
    "RecordList": obj(
        {
            "records": {"type": "array", "items": ref("StoredRecord")},
            "limit": INTEGER,
            "nextCursor": NULLABLE_STRING,
            "total": {
                "type": ["integer", "null"],
                "description": "How many records match, when the search index told (a search "
                "matching up to 2,000 records); null otherwise.",
            },
        }
    ),
    "RecordChange": obj(
        {
            "field": {"type": "string", "description": "The field's label."},
            "old": {"type": ["string", "integer", "null"]},
            "new": {"type": ["string", "integer", "null"]},
        }
    ),
    "RecordHistoryEntry": obj(
        {
            "action": {
                "type": "string",
                "enum": ["inserted", "updated", "undone"],
                "description": "undone: an undo of a later import gave the values back.",
            },
            "at": TIMESTAMP,
            "jobId": {
                "type": ["string", "null"],
                "description": "The import (or undo); null when its job is no longer kept.",
            },
            "fileName": NULLABLE_STRING,
            "uploadedBy": NULLABLE_STRING,
            "uploadedAt": TIMESTAMP,
            "jobUrl": NULLABLE_STRING,
            "changes": {"type": "array", "items": ref("RecordChange")},
        }
    ),
    "RecordDetail": obj(
        {
            "record": ref("StoredRecord"),
            "history": {
                "type": "array",
                "items": ref("RecordHistoryEntry"),
                "description": "Newest first: each import that changed the record (field by "
                "field, old and new value), then the one that added it.",
            },
        }
    ),
    "RejectedRow": obj(
        {
            "row": {"type": "integer", "description": "Its row number in the file."},
            "state": {"type": "string", "enum": ["invalid", "fixed", "sent"]},
            "cells": {
                "type": "object",
                "additionalProperties": NULLABLE_STRING,
                "description": "Its cells by column (the file's headers), as edited.",
            },
            "errors": {
                "type": "array",
                "description": "Its problems now; empty once it is fixed.",
                "items": obj(
                    {"column": NULLABLE_STRING, "field": NULLABLE_STRING, "message": STRING}
                ),
            },
            "editedAt": TIMESTAMP,
        }
    ),
    "FixCounts": obj({"invalid": INTEGER, "fixed": INTEGER, "sent": INTEGER}),
    "BulkFix": obj(
        {
            "bulkFixId": STRING,
            "status": {"type": "string", "enum": ["queued", "running", "completed", "failed"]},
            "progress": PROGRESS,
            "rowsExpected": {
                "type": "integer",
                "description": "The rows it goes through: those its rows or filter named, not "
                "sent yet, when it was asked for.",
            },
            "rowsDone": {"type": "integer", "description": "Rows gone through so far."},
            "changed": {"type": "integer", "description": "Rows changed so far."},
            "errorMessage": NULLABLE_STRING,
            "createdAt": TIMESTAMP,
            "finishedAt": TIMESTAMP,
            "statusUrl": {
                "type": "string",
                "description": "GET it to follow the fix until its status is completed or failed.",
            },
        }
    ),
    "Health": obj({"status": STRING}),
    "Ready": obj({"status": STRING, "checks": {"type": "object", "additionalProperties": STRING}}),
}


def envelope(data: Schema) -> Schema:
    """``{"success": true, "data": <data>}``."""
    return obj({"success": {"const": True}, "data": data})


def upload_envelope(data: Schema) -> Schema:
    """``{"success": true, "message": "Bulk upload queued successfully", "data": <data>}``."""
    return obj({"success": {"const": True}, "message": STRING, "data": data})


def json_content(schema: Schema) -> dict[str, Any]:
    """A JSON ``content`` mapping."""
    return {"application/json": {"schema": schema}}


ERROR_DESCRIPTIONS = {
    "400": "Malformed JSON or request, or a control character (such as NUL) in the address, "
    "a header, a form field or a JSON body (invalid_characters).",
    "401": "No token, or an invalid or revoked token.",
    "403": "The user's role does not allow this.",
    "404": "No such object, or it belongs to another organisation.",
    "409": "The state does not allow this now (e.g. retrying a running job, inviting an "
    "address that already has an account).",
    "413": "The body is larger than the upload limit.",
    "414": "The address (path and query string) is longer than 4,096 characters.",
    "415": "Unsupported content type or file type.",
    "422": "The body or a parameter has the wrong shape or value.",
    "429": "Too many requests; see the Retry-After header.",
    "503": "Unavailable for now; see the Retry-After header. The error code says what: "
    "database_unavailable, queue_unavailable, storage_unavailable (uploads: the "
    "server's disk is full, its upload folder is not writable or its database refused "
    "the file; nothing was saved) "
    "or not_ready (readiness).",
}

RESPONSES = {
    code: {"description": text, "content": json_content(ref("Error"))}
    for code, text in ERROR_DESCRIPTIONS.items()
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
RESPONSES["429"]["headers"] = RETRY_AFTER
RESPONSES["503"]["headers"] = RETRY_AFTER
