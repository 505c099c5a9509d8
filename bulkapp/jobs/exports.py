"""Exports of records views too large to stream: the use case that queues one, and the run a
worker makes of it (``bulkapp.records.export`` writes the file)."""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError

from ..extensions import db, get_redis
from ..models import RecordExport, User
from ..records import RecordsError
from ..records.export import FORMATS, audit_export, fail_export, run_export
from ..records.query import count_up_to
from ..records.view import RecordView
from ..storage import attempt_workspace
from ..unit_of_work import after_commit, use_case
from . import queues

log = logging.getLogger(__name__)

QUEUE_DOWN = "The job queue is unavailable right now, so the export could not start. Try again."


@use_case
def export_view(user: User, view: RecordView, fmt: str) -> RecordExport | None:
    """``user`` exports ``view`` as ``fmt`` (audited): None when it holds at most
    EXPORT_STREAM_MAX_ROWS records, for the caller to stream; else the queued export, its
    job enqueued once this commits."""
    if fmt not in FORMATS:
        raise RecordsError(f"Export as one of: {', '.join(FORMATS)}.", status=404)
    audit_export(user, view, fmt)
    limit = current_app.config["EXPORT_STREAM_MAX_ROWS"]
    if count_up_to(view, limit) <= limit:
        return None
    export = RecordExport(
        organisation_id=view.organisation_id,
        user_id=user.id,
        entity_type=view.schema.name,
        format=fmt,
        view_args=[list(arg) for arg in view.as_args()],
    )
    db.session.add(export)
    db.session.flush()
    export_id = export.id
    after_commit(lambda: _enqueue(export_id))
    return export


def _enqueue(export_id: str) -> None:
    """Put the export on its queue; when Redis is away it fails at once, saying so (the
    person is looking at its page)."""
    try:
        queues.enqueue_export(get_redis(), export_id)
    except RedisError as exc:
        log.warning("export %s could not be queued: %s", export_id, exc)
        fail_export(export_id, QUEUE_DOWN)
        db.session.commit()


def write_export(export_id: str) -> RecordExport | None:
    """A worker's run of the export ``export_id``, in a workspace of its own. Like an
    import's chunks, it commits its progress as it goes (``run_export``); an error is
    recorded on the export before it is raised again (for RQ's log)."""
    try:
        with attempt_workspace() as workspace:
            return run_export(export_id, workspace)
    except Exception as exc:
        db.session.rollback()
        record_export_failure(export_id, str(exc) or type(exc).__name__)
        raise


@use_case
def record_export_failure(export_id: str, reason: str) -> None:
    """The export ``export_id`` stopped (its run raised, or its worker died): say so."""
    fail_export(export_id, f"The export stopped ({reason.rstrip('.')}). Export the view again.")
