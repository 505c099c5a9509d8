"""Exports of records views too large to stream: the use case that queues one, and the run a
worker makes of it (``bulkapp.records.export`` writes the file)."""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError

from ..extensions import db, get_redis
from ..models import RecordExport, User
from ..records.export import FORMATS, audit_export, fail_export, run_export
from ..records.query import count_up_to
from ..records.view import RecordView
from ..storage import attempt_workspace
from . import queues

log = logging.getLogger(__name__)

QUEUE_DOWN = "The job queue is unavailable right now, so the export could not start. Try again."


def export_view(user: User, view: RecordView, fmt: str) -> RecordExport | None:
    """``user`` exports ``view`` as ``fmt`` (audited): None when it holds at most
    EXPORT_STREAM_MAX_ROWS records, for the caller to stream; else the queued export."""
    limit = current_app.config["EXPORT_STREAM_MAX_ROWS"]
    if count_up_to(view, limit) > limit:
        return start_export(user, view, fmt)
    audit_export(user, view, fmt)
    db.session.commit()
    return None


def start_export(user: User, view: RecordView, fmt: str) -> RecordExport:
    """Record an export of ``view`` as ``fmt`` for ``user``, commit, then queue it. When
    Redis is away it fails at once, saying so (the person is looking at it)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    export = RecordExport(
        organisation_id=view.organisation_id,
        user_id=user.id,
        entity_type=view.schema.name,
        format=fmt,
        view_args=[list(arg) for arg in view.as_args()],
    )
    db.session.add(export)
    audit_export(user, view, fmt)
    db.session.commit()
    try:
        queues.enqueue_export(get_redis(), export.id)
    except RedisError as exc:
        log.warning("export %s could not be queued: %s", export.id, exc)
        export.fail(QUEUE_DOWN)
        db.session.commit()
    return export


def write_export(export_id: str) -> RecordExport | None:
    """A worker's run of the export ``export_id``, in a workspace of its own; an error is
    recorded on the export before it is raised again (for RQ's log)."""
    try:
        with attempt_workspace() as workspace:
            return run_export(export_id, workspace)
    except Exception as exc:
        db.session.rollback()
        record_export_failure(export_id, str(exc) or type(exc).__name__)
        raise


def record_export_failure(export_id: str, reason: str) -> None:
    """The export ``export_id`` stopped (its run raised, or its worker died): say so."""
    fail_export(export_id, f"The export stopped ({reason.rstrip('.')}). Export the view again.")
    db.session.commit()
