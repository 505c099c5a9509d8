"""The fix page: a job's rejected rows in the shared server-paged grid, 50 a page, each cell
editable (saved and checked on the server as soon as it changes), bulk fixes of a column,
and sending the fixed rows as a follow-up import. For a job waiting in review, the rows its
dry run predicts will be rejected, fixed the same way, and the import started from the page
instead of a send. Thin: parse, call ``jobs.fixes``, render.

Everyone who may see the job sees its rows; only its uploader and the organisation's admins
edit and send them (403 otherwise); another organisation's job is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..ingest.rejected import FileLayout
from ..jobs import bulk_fixes, fixes
from ..jobs.access import can_act, require_job
from ..jobs.predictions import in_review
from ..models import BulkFixRun, RejectedRow, is_storable_id
from .grid import GridColumn, keyset_pager
from .helpers import refusals_flashed
from .labels import field_title, schema_of, titled

bp = Blueprint("fixes", __name__)

FILTER_ARGS = ("reason", "column", "state")


def _filters(layout: FileLayout, args: Any) -> fixes.RowFilter:
    """The page's filters from its query (or a bulk form's hidden fields); a value that
    names nothing is left out."""
    column = args.get("column", "")
    state = args.get("state", "")
    return fixes.RowFilter(
        reason=args.get("reason") or None,
        column=int(column) if column.isdigit() and int(column) < len(layout.headers) else None,
        state=state if state in fixes.FIX_STATES else None,
    )


def _filter_args(filters: fixes.RowFilter) -> dict[str, Any]:
    args = {"reason": filters.reason, "column": filters.column, "state": filters.state}
    return {name: value for name, value in args.items() if value is not None}


def _cursor(raw: str | None) -> int | None:
    """A row number from the pager's links (None: none, or not a row number)."""
    return int(raw) if raw and raw.isdigit() and is_storable_id(int(raw)) else None


def row_problems(layout: FileLayout, row: RejectedRow, entity: str) -> dict[str, Any]:
    """A row's problems as the page shows them: by column position, and the row's own,
    fields by their titles (``labels.titled``)."""
    by_column: dict[int, list[str]] = {}
    whole_row: list[str] = []
    for error in row.current_errors:
        position = layout.column_of(error.get("field"))
        if position is None and error.get("column") in layout.headers:
            position = layout.headers.index(error["column"])
        message = titled(error["message"], entity, error.get("field"))
        if position is None:
            whole_row.append(message)
        else:
            by_column.setdefault(position, []).append(message)
    return {"columns": by_column, "row": whole_row}


def column_headers(layout: FileLayout, entity: str) -> list[str]:
    """The file's column headers as the page shows them: a header that is the API name of
    the field it feeds (``idNumber``, as the template and the error report write it) by the
    field's title; any other header as the file has it."""
    fed = {position: name for name, position in layout.positions.items()}
    shown = []
    for position, header in enumerate(layout.headers):
        title = field_title(entity, fed.get(position))
        named = position in fed and header.strip().lower() in (
            fed[position].lower(),
            _label_of(entity, fed[position]).lower(),
        )
        shown.append(title if named else header)
    return shown


def _label_of(entity: str, name: str) -> str:
    schema = schema_of(entity)
    return schema.field(name).label if schema and name in schema.field_names else name


def _grid_row(layout: FileLayout, row: RejectedRow, entity: str) -> dict[str, Any]:
    cells = list(row.current_cells)
    cells += [None] * (len(layout.headers) - len(cells))
    return {
        "number": row.row_number,
        "state": row.state,
        "cells": cells,
        "problems": row_problems(layout, row, entity),
    }


def _back(job_id: str):
    """The fix page as the form's hidden fields had it (its filters)."""
    job = require_job(current_user, job_id)
    layout = fixes.fixable_layout(job)
    args = _filter_args(_filters(layout, request.form))
    return redirect(url_for("fixes.page", job_id=job_id, **args))


@bp.route("/jobs/<job_id>/fix")
def page(job_id: str):
    """The job's rejected rows, 50 a page, filtered by reason, column and state."""
    job = require_job(current_user, job_id)
    layout = fixes.fixable_layout(job)
    filters = _filters(layout, request.args)
    args = _filter_args(filters)
    found = fixes.rejected_page(
        job,
        filters,
        after=_cursor(request.args.get("after")),
        before=_cursor(request.args.get("before")),
    )
    counts = fixes.fix_counts(job)
    shown = len(found.rows)
    first = found.rows[0].row_number if found.rows else None
    summary = f"Rows {first:,}–{found.rows[-1].row_number:,}" if shown else "No rows"
    pager = keyset_pager(
        summary,
        lambda **cursor: url_for("fixes.page", job_id=job.id, **args, **cursor),
        str(found.after) if found.after is not None else None,
        str(found.before) if found.before is not None else None,
    )
    headers = column_headers(layout, job.entity_type)
    running = fixes.running_bulk_fix(job)
    columns = [
        GridColumn("row", "Row", numeric=True),
        GridColumn("state", "State"),
        *(
            GridColumn(f"c{position}", header or f"Column {position + 1}")
            for position, header in enumerate(headers)
        ),
        GridColumn("problems", "Problems"),
    ]
    return render_template(
        "fix.html",
        job=job,
        layout=layout,
        headers=headers,
        columns=columns,
        rows=[_grid_row(layout, row, job.entity_type) for row in found.rows],
        pager=pager,
        counts=counts,
        filters=filters,
        filter_args=args,
        problems=fixes.problem_summary(job),
        states=fixes.FIX_STATES,
        in_review=in_review(job),
        editable=fixes.rows_open(job) and can_act(current_user, job) and running is None,
        bulk_run=running or bulk_fixes.latest_run(job),
        required_columns=fixes.required_columns(job, layout),
        follow_ups=fixes.follow_ups(job),
    )


@bp.route("/jobs/<job_id>/fix/rows/<int:row_number>", methods=["POST"])
def edit(job_id: str, row_number: int):
    """Save edited cells of one row (JSON ``{"cells": {"<position>": value}}``) and answer
    the row checked again, with the page's counts."""
    job = require_job(current_user, job_id, "act")
    layout = fixes.fixable_layout(job)
    body = request.get_json(silent=True) or {}
    raw = body.get("cells") if isinstance(body, dict) else None
    if not isinstance(raw, dict) or not raw:
        raise fixes.FixRefused("Send the cells to change.", code="missing_cells", status=422)
    cells = {
        fixes.column_position(layout, int(key) if str(key).isdigit() else key): (
            None if value is None else str(value)
        )
        for key, value in raw.items()
    }
    row = fixes.edit_row(job, row_number, cells)
    problems = row_problems(layout, row, job.entity_type)
    return jsonify(
        {
            "row": row.row_number,
            "state": row.state,
            "cells": _grid_row(layout, row, job.entity_type)["cells"],
            "problems": {
                "columns": {str(k): v for k, v in problems["columns"].items()},
                "row": problems["row"],
            },
            "counts": fixes.fix_counts(job),
        }
    )


@bp.route("/jobs/<job_id>/fix/bulk", methods=["POST"])
@refusals_flashed(_back)
def bulk(job_id: str):
    """Fix one column of the rows ticked, or of every row the page's filters show."""
    job = require_job(current_user, job_id, "act")
    layout = fixes.fixable_layout(job)
    action = request.form.get("action", "")
    if action not in fixes.BULK_ACTIONS:
        raise fixes.FixRefused("Choose what to do with the column.", code="bad_action", status=422)
    column = request.form.get("bulk_column", "")
    if not column.isdigit():
        raise fixes.FixRefused("Choose a column.", code="unknown_column", status=422)
    fix = fixes.BulkFix(
        action=action,
        column=int(column),
        value=request.form.get("value", ""),
        find=request.form.get("find", ""),
    )
    selected = [
        int(n) for n in request.form.getlist("rows") if n.isdigit() and is_storable_id(int(n))
    ]
    scope = request.form.get("scope", "filtered")
    if scope == "selected" and not selected:
        raise fixes.FixRefused("Tick the rows to change first.", code="no_rows", status=422)
    outcome = bulk_fixes.start_bulk_fix(
        job,
        current_user,
        fix,
        _filters(layout, request.form),
        selected if scope == "selected" else None,
    )
    if isinstance(outcome, BulkFixRun):
        flash(
            f"{outcome.rows_expected:,} rows are being changed and checked again by a worker; "
            "this page shows how far it got. Rows can be edited and sent again once it ends.",
            "info",
        )
    else:
        flash(f"{outcome:,} rows changed and checked again.", "info")
    return _back(job_id)


def bulk_run_state(run: BulkFixRun) -> dict[str, Any]:
    """A queued bulk fix as the fix page follows it."""
    return {
        "id": run.id,
        "status": run.status,
        "finished": run.finished,
        "progress": run.progress,
        "rowsExpected": run.rows_expected,
        "rowsDone": run.rows_done,
        "rowsChanged": run.rows_changed,
        "errorMessage": run.error_message,
    }


@bp.route("/jobs/<job_id>/fix/bulk/<run_id>")
def bulk_state(job_id: str, run_id: str):
    """How far a queued bulk fix of the job's rows got (JSON, polled by the fix page)."""
    job = require_job(current_user, job_id)
    return jsonify(bulk_run_state(bulk_fixes.find_run(job, run_id)))


@bp.route("/jobs/<job_id>/fix/send", methods=["POST"])
@refusals_flashed(_back)
def send(job_id: str):
    """Send the fixed rows as a follow-up import; its page shows it."""
    job = require_job(current_user, job_id, "act")
    follow_up, sent = fixes.send_fixed_rows(job, current_user)
    if job.mode == fixes.DRY_RUN:
        flash(f"The whole file is being imported, with its {sent:,} fixed rows.", "info")
    else:
        flash(f"{sent:,} fixed rows were sent as a new import.", "info")
    return redirect(url_for("jobs.show", job_id=follow_up.id))
