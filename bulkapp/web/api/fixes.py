"""Fixing rejected rows: a job's rejected rows a page at a time, edits of one row or of a
column of many, and sending the fixed rows as a follow-up import."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, request, url_for

from ...ingest.rejected import FileLayout
from ...jobs import bulk_fixes, fixes
from ...jobs.access import require_job
from ...jobs.state import iso_timestamp
from ...models import BulkFixRun, RejectedRow, is_storable_id
from .auth import api_user
from .errors import ApiError, ok
from .jobs import page_size
from .review import json_body
from .shapes import job_accepted

bp = Blueprint("fixes", __name__)

MAX_PAGE_ROWS = 500
EDIT_BODY = (
    'Send the new cells as JSON: {"cells": {"<column>": "<value>", ...}}.',
    "missing_cells",
)
BULK_BODY = (
    'Send the fix as JSON: {"action": "set" | "replace" | "empty", "column": "<column>", '
    '"value": "...", "find": "...", "rows": [...] or "filter": {...}}.',
    "missing_fix",
)


def row_shape(layout: FileLayout, row: RejectedRow) -> dict[str, Any]:
    """A rejected row as the API shows it: its cells by column, its problems now."""
    cells = row.current_cells
    by_column: dict[str, Any] = {}
    for position, header in enumerate(layout.headers):
        if header:  # a header repeated shows its first column, as an edit changes it
            by_column.setdefault(header, cells[position] if position < len(cells) else None)
    return {
        "row": row.row_number,
        "state": row.state,
        "cells": by_column,
        "errors": row.current_errors,
        "editedAt": iso_timestamp(row.edited_at),
    }


def _encode(direction: str, row_number: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}{row_number}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, number = raw[0], int(raw[1:])
        if direction not in "ab" or not is_storable_id(number):
            raise ValueError(direction)
        return direction, number
    except (binascii.Error, ValueError, IndexError, UnicodeDecodeError):
        raise ApiError(
            422,
            "The cursor is not valid: pass the nextCursor or previousCursor of a page.",
            "invalid_cursor",
        ) from None


def _filters(layout: FileLayout, raw: Any) -> fixes.RowFilter:
    """The filters of a page or a bulk fix: ``reason``, ``column`` (a header) and ``state``."""
    if not isinstance(raw, dict):
        raise ApiError(422, "filter must be an object of reason, column and state.", "bad_filter")
    state = raw.get("state") or None
    if state is not None and state not in fixes.FIX_STATES:
        raise ApiError(
            422,
            f"Unknown state {state!r}. Choose one of: {', '.join(fixes.FIX_STATES)}.",
            "invalid_state",
        )
    column = raw.get("column")
    return fixes.RowFilter(
        reason=raw.get("reason") or None,
        column=None if column in (None, "") else fixes.column_position(layout, column),
        state=state,
    )


@bp.get("/bulk-upload/<job_id>/rejected")
def list_rejected(job_id: str):
    """The job's rejected rows in row order, a page at a time, filtered by reason, column
    and state."""
    job = require_job(api_user(), job_id)
    layout = fixes.fixable_layout(job)
    limit = page_size(request.args.get("limit"), fixes.PAGE_ROWS, MAX_PAGE_ROWS)
    filters = _filters(layout, request.args.to_dict())
    cursor = request.args.get("cursor")
    direction, number = _decode(cursor) if cursor else ("a", None)
    page = fixes.rejected_page(
        job,
        filters,
        after=number if direction == "a" else None,
        before=number if direction == "b" else None,
        limit=limit,
    )
    return ok(
        {
            "columns": list(layout.headers),
            "rows": [row_shape(layout, row) for row in page.rows],
            "counts": fixes.fix_counts(job),
            "limit": limit,
            "nextCursor": _encode("a", page.after) if page.after is not None else None,
            "previousCursor": _encode("b", page.before) if page.before is not None else None,
        }
    )


def _cells(layout: FileLayout, raw: Any) -> dict[int, Any]:
    if not isinstance(raw, dict) or not raw:
        raise ApiError(422, *EDIT_BODY)
    cells: dict[int, Any] = {}
    for column, value in raw.items():
        if not isinstance(value, str | int | float | type(None)) or isinstance(value, bool):
            raise ApiError(
                422, f"The value of {column!r} must be text, a number or null.", "invalid_value"
            )
        cells[fixes.column_position(layout, column)] = None if value is None else str(value)
    return cells


@bp.patch("/bulk-upload/<job_id>/rejected/<int:row_number>")
def edit_rejected(job_id: str, row_number: int):
    """Change cells of one rejected row; the answer is the row checked again, with its
    problems now (none: it is fixed)."""
    job = require_job(api_user(), job_id, "act")
    layout = fixes.fixable_layout(job)
    body = json_body(required=True, missing=EDIT_BODY)
    if not isinstance(body, dict):
        raise ApiError(422, *EDIT_BODY)
    row = fixes.edit_row(job, row_number, _cells(layout, body.get("cells")))
    return ok(row_shape(layout, row))


def _bulk_fix(layout: FileLayout, body: Any) -> fixes.BulkFix:
    if not isinstance(body, dict) or body.get("action") not in fixes.BULK_ACTIONS:
        raise ApiError(422, *BULK_BODY)
    for name in ("value", "find"):
        if not isinstance(body.get(name), str | type(None)):
            raise ApiError(422, f"{name} must be text.", "invalid_value")
    return fixes.BulkFix(
        action=body["action"],
        column=fixes.column_position(layout, body.get("column")),
        value=body.get("value"),
        find=body.get("find") or "",
    )


def _row_numbers(raw: Any) -> list[int] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and is_storable_id(n) for n in raw
    ):
        raise ApiError(422, "rows must be a list of row numbers.", "invalid_rows")
    return raw


@bp.post("/bulk-upload/<job_id>/rejected/bulk")
def bulk_edit(job_id: str):
    """Change one column of many rejected rows at once: the rows listed, or every row the
    filter lets through; each changed row is checked again."""
    job = require_job(api_user(), job_id, "act")
    layout = fixes.fixable_layout(job)
    body = json_body(required=True, missing=BULK_BODY)
    fix = _bulk_fix(layout, body)
    outcome = bulk_fixes.start_bulk_fix(
        job,
        api_user(),
        fix,
        _filters(layout, body.get("filter") or {}),
        _row_numbers(body.get("rows")),
    )
    if isinstance(outcome, BulkFixRun):
        return ok(bulk_fix_shape(outcome), 202)
    return ok({"changed": outcome, "counts": fixes.fix_counts(job)})


def bulk_fix_shape(run: BulkFixRun) -> dict[str, Any]:
    """A queued bulk fix as the API shows it, with the address that follows it."""
    return {
        "bulkFixId": run.id,
        "status": run.status,
        "progress": run.progress,
        "rowsExpected": run.rows_expected,
        "rowsDone": run.rows_done,
        "changed": run.rows_changed,
        "errorMessage": run.error_message,
        "createdAt": iso_timestamp(run.created_at),
        "finishedAt": iso_timestamp(run.finished_at),
        "statusUrl": url_for("api.fixes.bulk_fix_status", job_id=run.import_job_id, fix_id=run.id),
    }


@bp.get("/bulk-upload/<job_id>/rejected/bulk/<fix_id>")
def bulk_fix_status(job_id: str, fix_id: str):
    """How far a queued bulk fix of the job's rows got."""
    job = require_job(api_user(), job_id)
    return ok(bulk_fix_shape(bulk_fixes.find_run(job, fix_id)))


@bp.post("/bulk-upload/<job_id>/resubmit")
def resubmit(job_id: str):
    """Send the job's fixed rows as a new import linked to it; rows still invalid stay."""
    job = require_job(api_user(), job_id, "act")
    follow_up, sent = fixes.send_fixed_rows(job, api_user())
    data = job_accepted(follow_up, f"{sent:,} fixed rows were sent as a new import.")
    return ok({**data, "fixesJobId": job.id, "sentRows": sent}, 202)
