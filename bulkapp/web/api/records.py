"""Reading records: an entity type's records a page at a time, and one record by its key."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, request
from sqlalchemy import RowMapping

from ...entities import EntitySchema, UnknownEntity, get_entity
from ...jobs.state import iso_timestamp
from ...models import Organisation
from ...records.access import viewable_organisation
from ...records.fields import labelled_values
from ...records.history import HistoryEntry, record_history
from ...records.query import MAX_PAGE_SIZE, PAGE_SIZE, find_record, read_page
from ...records.view import parse_view
from ..helpers import API_URL_PREFIX
from .auth import api_user
from .errors import ApiError, ok
from .jobs import page_size

bp = Blueprint("records", __name__)


def _schema(entity: str) -> EntitySchema:
    try:
        return get_entity(entity)
    except UnknownEntity as exc:
        raise ApiError(404, str(exc), "unknown_entity") from None


def _organisation() -> Organisation:
    """The user's organisation, or (``super_admin``) the one named by ``?organisation=``."""
    return viewable_organisation(api_user(), slug=request.args.get("organisation") or None)


def record_shape(schema: EntitySchema, row: RowMapping) -> dict[str, Any]:
    """A record: its fields by label, when it was added and last changed, the last import."""
    key = str(row[schema.natural_key[0]])
    return {
        **labelled_values(schema, row),
        "createdAt": iso_timestamp(row["created_at"]),
        "updatedAt": iso_timestamp(row["updated_at"]),
        "lastImportJobId": row["import_job_id"],
        "url": f"{API_URL_PREFIX}/records/{schema.name}/{quote(key, safe='@')}",
    }


@bp.get("/records/<entity>")
def list_records(entity: str):
    """The organisation's records of ``entity``: ``q`` (search), a filter per field, ``sort``,
    a page of ``limit`` at a time (pass ``nextCursor`` back as ``cursor``)."""
    schema = _schema(entity)
    organisation = _organisation()
    view, errors = parse_view(schema, organisation.id, request.args.to_dict(flat=False))
    if errors:
        raise ApiError(422, " ".join(errors), "invalid_parameter")
    limit = page_size(request.args.get("limit"), PAGE_SIZE, MAX_PAGE_SIZE)
    page = read_page(view, after=request.args.get("cursor") or None, limit=limit)
    return ok(
        {
            "records": [record_shape(schema, row) for row in page.rows],
            "limit": limit,
            "nextCursor": page.next_cursor,
            "total": page.total,
        }
    )


@bp.get("/records/<entity>/<path:key>", merge_slashes=False)
def show_record(entity: str, key: str):
    """One record by its natural key (URL-encoded), with its history."""
    schema = _schema(entity)
    row = find_record(schema, _organisation().id, key)
    if row is None:
        raise ApiError(
            404,
            f"There is no {schema.label.lower()} record {key!r}, or you do not have access to it.",
            "record_not_found",
        )
    return ok(
        {
            "record": record_shape(schema, row),
            "history": [history_shape(entry) for entry in record_history(schema, row)],
        }
    )


def history_shape(entry: HistoryEntry) -> dict[str, Any]:
    """One import (or undo) that added or changed a record, with its changes."""
    job = entry.job
    return {
        "action": entry.action,
        "at": iso_timestamp(entry.at),
        "jobId": entry.job_id,
        "fileName": job.original_filename if job else None,
        "uploadedBy": job.user.email if job and job.user else None,
        "uploadedAt": iso_timestamp(job.created_at) if job else None,
        "jobUrl": f"{API_URL_PREFIX}/bulk-upload/status/{job.id}" if job else None,
        "changes": [
            {"field": change.field, "old": change.old, "new": change.new}
            for change in entry.changes
        ],
    }
