"""The records pages: an entity type's records (search, filters, sort, pages, export) and a
record with its history. Thin: parse, call ``bulkapp.records``, render.

Every signed-in user sees their organisation's records; a ``super_admin`` picks any
organisation (``?organisation=<id>``). Another organisation's record is a 404.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import RowMapping

from ..entities import REGISTRY, EntitySchema, UnknownEntity, get_entity
from ..jobs.exports import export_view
from ..models import ExportStatus, Organisation, RecordExport, utcnow
from ..records import RecordsError
from ..records.access import (
    find_export,
    organisations_to_pick,
    recent_exports,
    viewable_organisation,
)
from ..records.export import (
    MEDIA_TYPES,
    csv_text,
    export_name,
    write_xlsx,
)
from ..records.fields import field_filters, sort_keys
from ..records.history import record_history
from ..records.query import PAGE_SIZE, find_record, read_page, record_key
from ..records.view import RecordView, parse_view
from ..storage import REPORTS, store_holding
from .grid import GridColumn, keyset_pager, sortable_columns

bp = Blueprint("records", __name__)

NUMERIC_TYPES = frozenset({"integer", "decimal"})


def _schema(entity: str) -> EntitySchema:
    try:
        return get_entity(entity)
    except UnknownEntity:
        abort(404)


def _organisation() -> Organisation:
    """The organisation asked for (``organisation=<id>`` in the query or the form), within
    what the user may see."""
    raw = request.values.get("organisation", "")
    if raw and not raw.isdigit():
        raise RecordsError(
            "There is no such organisation.", status=404, code="organisation_not_found"
        )
    return viewable_organisation(current_user, int(raw) if raw else None)


def _scope_args(organisation: Organisation) -> dict[str, Any]:
    """The organisation argument links carry: only a super admin's pick of another one."""
    return (
        {"organisation": organisation.id} if organisation.id != current_user.organisation_id else {}
    )


def list_url(schema: EntitySchema, organisation: Organisation, view_args, **extra: str) -> str:
    """The records page of ``schema`` with ``view_args`` (a view's arguments) and ``extra``."""
    base = url_for("records.list_records", entity=schema.name, **_scope_args(organisation))
    args = [*view_args, *((k, v) for k, v in extra.items() if v is not None)]
    joined = "&" if "?" in base else "?"
    return base + (joined + urlencode(args) if args else "")


def record_url(schema: EntitySchema, organisation: Organisation, row: RowMapping) -> str:
    """The page of the record ``row``."""
    return url_for(
        "records.show",
        entity=schema.name,
        key=record_key(schema, row),
        **_scope_args(organisation),
    )


def _columns(view: RecordView, organisation: Organisation) -> list[GridColumn]:
    """A column per field; the searched ones sort by their label."""
    schema = view.schema
    searched = {f.name for f in schema.search_fields}
    other_args = [(k, v) for k, v in view.as_args() if k != "sort"]
    return sortable_columns(
        [
            (f.name, f.title, f.type in NUMERIC_TYPES, f.label if f.name in searched else None)
            for f in schema.fields
        ],
        sort=view.sort,
        sort_url=lambda key: list_url(schema, organisation, [*other_args, ("sort", key)]),
    )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


@bp.get("/records")
def index():
    """The first entity type's records (of the organisation asked for)."""
    first = next(iter(REGISTRY))
    organisation = request.args.get("organisation")
    return redirect(url_for("records.list_records", entity=first, organisation=organisation))


@bp.get("/records/<entity>")
def list_records(entity: str):
    """An entity type's records, a page at a time: search, filters, sort, export."""
    schema = _schema(entity)
    organisation = _organisation()
    view, errors = parse_view(schema, organisation.id, request.args.to_dict(flat=False))
    after, before = request.args.get("after"), request.args.get("before")
    page = read_page(view, after=after or None, before=before or None, limit=PAGE_SIZE)
    shown = len(page.rows)
    if page.total is not None:
        summary = f"{page.total:,} record{'s' if page.total != 1 else ''} match"
    elif shown:
        summary = f"{shown} record{'s' if shown != 1 else ''} on this page"
    else:
        summary = "No records"
    pager = keyset_pager(
        summary,
        lambda **cursor: list_url(schema, organisation, view.as_args(), **cursor),
        page.next_cursor,
        page.previous_cursor,
    )
    return render_template(
        "records.html",
        schema=schema,
        schemas=list(REGISTRY.values()),
        organisation=organisation,
        organisations=organisations_to_pick(current_user),
        scope_args=_scope_args(organisation),
        view=view,
        errors=errors,
        filters=list(field_filters(schema).values()),
        sorts=sort_keys(schema),
        columns=_columns(view, organisation),
        rows=[{**row, "_href": record_url(schema, organisation, row)} for row in page.rows],
        row_href=lambda row: row["_href"],
        pager=pager,
        searched=[f.title for f in schema.search_fields],
        cell=_cell,
        exports=recent_exports(current_user, organisation.id),
    )


@bp.get("/records/<entity>/<path:key>", merge_slashes=False)
def show(entity: str, key: str):
    """One record: its values by label, and its history."""
    schema = _schema(entity)
    organisation = _organisation()
    row = find_record(schema, organisation.id, key)
    if row is None:
        raise RecordsError("There is no such record, or you do not have access to it.", status=404)
    return render_template(
        "record.html",
        schema=schema,
        organisation=organisation,
        scope_args=_scope_args(organisation),
        row=row,
        key=record_key(schema, row),
        cell=_cell,
        history=record_history(schema, row),
    )


@bp.post("/records/<entity>/export")
def export(entity: str):
    """Export the view in the form (search, filters, sort) as CSV or XLSX: streamed when it
    holds at most EXPORT_STREAM_MAX_ROWS records, else a queued export with its own page."""
    schema = _schema(entity)
    organisation = _organisation()
    fmt = request.form.get("format", "csv")
    view, _ = parse_view(schema, organisation.id, request.form.to_dict(flat=False))
    queued = export_view(current_user, view, fmt)
    if queued is not None:
        return redirect(url_for("records.export_page", export_id=queued.id))
    name = export_name(schema, fmt, utcnow())
    if fmt == "csv":
        body: Any = stream_with_context(piece.encode() for piece in csv_text(view))
    else:
        body = io.BytesIO()
        write_xlsx(view, body)
        body = body.getvalue()
    response = Response(body, mimetype=MEDIA_TYPES[fmt])
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/exports/<export_id>")
def export_page(export_id: str):
    """A queued export: its progress while a worker writes it, then its download."""
    queued = find_export(current_user, export_id)
    schema = get_entity(queued.entity_type)
    return render_template(
        "export.html",
        export=queued,
        schema=schema,
        state=_state(queued),
        records_url=list_url(schema, queued.organisation, [tuple(a) for a in queued.view_args]),
    )


def _state(queued: RecordExport) -> dict[str, Any]:
    return {
        "status": queued.status,
        "progress": queued.progress,
        "rowsWritten": queued.rows_written,
        "rowsExpected": queued.rows_expected,
        "finished": queued.finished,
        "errorMessage": queued.error_message,
        "downloadUrl": url_for("records.export_download", export_id=queued.id)
        if queued.status == ExportStatus.COMPLETED
        else None,
    }


@bp.get("/exports/<export_id>/state")
def export_state(export_id: str):
    """The export's progress as JSON, for its page's live updates."""
    response = jsonify(_state(find_export(current_user, export_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/exports/<export_id>/download")
def export_download(export_id: str):
    """The exported file, once written."""
    queued = find_export(current_user, export_id)
    if queued.status != ExportStatus.COMPLETED or not queued.file_key:
        abort(404)
    name = export_name(get_entity(queued.entity_type), queued.format, queued.created_at)
    response = store_holding(queued.file_key, REPORTS).download(
        queued.file_key, queued.organisation_id, name, MEDIA_TYPES[queued.format]
    )
    if response is None:
        abort(404)
    return response
