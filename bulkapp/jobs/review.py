"""Review before commit: the use cases of the review page and the API — change the mapping
(analysed again), commit (the import runs with the chosen mapping, reading the rows edited
on the fix page as edited), discard — and the expiry of reviews nobody finished."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import audit
from ..entities import EntitySchema, UnknownEntity, get_entity, header_key
from ..extensions import db
from ..ingest.mapping import MappingChoice
from ..ingest.readings import FORMAT_NAMES, FROM_FILE, FROM_MAPPING
from ..models import NEEDS_REVIEW, ImportJob, User, utcnow
from ..unit_of_work import use_case
from .fixes import lock_rows, running_bulk_fix
from .lifecycle import JobActionError, delete_upload, enqueue_after_commit
from .mappings import remember_mapping
from .predictions import forget_predictions, unindex_predictions

log = logging.getLogger(__name__)


def _require_review(job: ImportJob) -> None:
    """Refuse a change of ``job``'s review unless it waits for one, and while a queued bulk
    fix changes the rows it predicts will be rejected (taking the job's row lock, as a bulk
    fix does before it starts)."""
    if job.status != NEEDS_REVIEW:
        raise JobActionError(
            f"This job is {job.status.replace('_', ' ')}, not waiting for a review.",
            code="not_in_review",
        )
    lock_rows(job)
    if running_bulk_fix(job) is not None:
        raise JobActionError(
            "A bulk fix is changing the rows this review predicts will be rejected: the "
            "review can go on once it ends (the fix page shows its progress).",
            code="bulk_fix_running",
        )


def analysed_choice(job: ImportJob) -> dict[str, Any]:
    """The mapping the job's analysis used: every column's chosen field (or None), the value
    mappings it was given, and the format each number and date column was read in (chosen,
    or shown by the column's values), so that the import reads the file as reviewed."""
    analysis = job.analysis or {}
    columns = {c["header"]: c["chosen"] for c in analysis.get("columns", []) if c["header"]}
    values = (analysis.get("mapping") or {}).get("values", {})
    choice: dict[str, Any] = {"columns": columns, "values": values}
    formats = {
        r["field"]: r["format"]
        for r in analysis.get("readings", [])
        if r["source"] in (FROM_MAPPING, FROM_FILE)
    }
    if formats:
        choice["formats"] = formats
    return choice


def checked_choice(data: object, entity_type: str) -> dict[str, Any]:
    """``data`` as a mapping of ``entity_type``, checked (``MappingChoice``).

    Raises:
        JobActionError: the mapping is not valid (422), with the reason.
    """
    try:
        schema = get_entity(entity_type)
        return MappingChoice.from_json(data, schema).to_json()
    except (ValueError, UnknownEntity) as exc:
        raise JobActionError(str(exc), code="invalid_mapping", status=422) from None


def _checked_for_file(job: ImportJob, data: object) -> dict[str, Any]:
    """``data`` checked as a mapping of ``job``'s type whose columns are all the file's.

    Raises:
        JobActionError: the mapping is not valid, or names a column the file does not have
            (422, naming it).
    """
    choice = checked_choice(data, job.entity_type)
    analysed = [c["header"] for c in (job.analysis or {}).get("columns", []) if c["header"]]
    known = {header_key(header) for header in analysed}
    missing = [header for header in choice["columns"] if header_key(header) not in known]
    if missing:
        names = ", ".join(repr(header) for header in missing)
        raise JobActionError(
            f"The file has no column {names}. Its columns are: "
            f"{', '.join(repr(header) for header in analysed)}.",
            code="unknown_column",
            status=422,
        )
    return choice


@use_case
def change_mapping(job: ImportJob, data: object) -> ImportJob:
    """Analyse the file again with the mapping ``data``.

    Raises:
        JobActionError: the job is not waiting for a review (409), or the mapping is not
            valid or names a column the file does not have (422).
    """
    _require_review(job)
    job.reanalyse(_checked_for_file(job, data), job.entity_type)
    enqueue_after_commit(job)
    return job


@use_case
def change_entity_type(job: ImportJob, entity_type: str) -> ImportJob:
    """Analyse the file again as ``entity_type`` (its columns matched afresh).

    Raises:
        JobActionError: the job is not waiting for a review (409), or there is no such
            entity type (422).
    """
    _require_review(job)
    try:
        entity = get_entity(entity_type).name
    except UnknownEntity as exc:
        raise JobActionError(str(exc), code="unknown_entity", status=422) from None
    job.reanalyse(None, entity)
    enqueue_after_commit(job)
    return job


@use_case
def commit_review(job: ImportJob, user: User | None, data: object | None = None) -> ImportJob:
    """Import the file with the mapping analysed (``data`` None, or the same mapping) and
    remember the mapping for the next file with these headers. A different mapping is
    analysed first, and the import follows unless that analysis finds something a person
    must decide (then the review says what changed and what is to decide).

    Raises:
        JobActionError: the job is not waiting for a review (409), its required columns are
            not all mapped (409), or the mapping is not valid or names a column the file
            does not have (422).
    """
    _require_review(job)
    analysed = analysed_choice(job)
    if data is not None:
        choice = _checked_for_file(job, data)
        if _as_analysed(choice, analysed) != checked_choice(analysed, job.entity_type):
            changes = describe_changes(get_entity(job.entity_type), analysed, choice)
            then_import = {"by": user.id if user else None, "changes": changes}
            job.reanalyse(choice, job.entity_type, then_import=then_import)
            detail = f"{job.original_filename}: analysed again first: {' '.join(changes)}"
            audit.record_job("import_committed", job, user, detail)
            enqueue_after_commit(job)
            return job
    problem = (job.analysis or {}).get("problem")
    if problem:
        raise JobActionError(
            f"This mapping cannot be imported: {problem}", code="mapping_incomplete"
        )
    job.commit_review(checked_choice(analysed, job.entity_type))
    unindex_predictions(job)
    audit.record_job("import_committed", job, user)
    remember_mapping(job, user)
    enqueue_after_commit(job)
    return job


def describe_changes(
    schema: EntitySchema, before: dict[str, Any], after: dict[str, Any]
) -> list[str]:
    """What ``after`` changes in the mapping ``before``, one sentence each, fields by label."""

    def label(name: str | None) -> str:
        return schema.field(name).title if name else "not imported"

    changes = [
        f"Column {header!r}: {label(before['columns'].get(header))} → {label(name)}."
        for header, name in after["columns"].items()
        if before["columns"].get(header) != name
    ]
    old_values, new_values = before.get("values", {}), after.get("values", {})
    for name, meant in new_values.items():
        for written, value in meant.items():
            if old_values.get(name, {}).get(written, ...) != value:
                shown = "empty" if value is None else repr(value)
                changes.append(f"{label(name)} {written!r} is read as {shown}.")
    old_formats = before.get("formats", {})
    for name, chosen in after.get("formats", {}).items():
        if old_formats.get(name) != chosen:
            shown = FORMAT_NAMES.get(chosen, chosen)
            changes.append(f"{label(name)} is read with {shown}.")
    return changes


def _as_analysed(choice: dict[str, Any], analysed: dict[str, Any]) -> dict[str, Any]:
    """``choice`` with the formats it does not name taken from the analysis (a mapping that
    leaves a column's format out leaves it as the column showed it)."""
    formats = {**analysed.get("formats", {}), **choice.get("formats", {})}
    return {**choice, "formats": formats} if formats else choice


@use_case
def discard_review(job: ImportJob, user: User | None) -> ImportJob:
    """Drop a file waiting for its review: ``canceled``, its upload removed; ``user`` is
    audited.

    Raises:
        JobActionError: the job is not waiting for a review (409).
    """
    _require_review(job)
    job.cancel()
    delete_upload(job)
    forget_predictions(job, index=True)
    audit.record_job("review_discarded", job, user)
    return job


@use_case
def expire_reviews(hours: int | None = None) -> int:
    """Discard files that have waited for their review longer than ``hours``
    (``REVIEW_EXPIRY_HOURS``), removing their uploads; returns how many."""
    hours = current_app.config["REVIEW_EXPIRY_HOURS"] if hours is None else hours
    cutoff = utcnow() - timedelta(hours=hours)
    stale = db.session.scalars(
        select(ImportJob).where(ImportJob.status == NEEDS_REVIEW, ImportJob.updated_at <= cutoff)
    ).all()
    for job in stale:
        job.expire_review()
        delete_upload(job)
        forget_predictions(job, index=True)
        log.info("review of job %s expired; its upload was removed", job.id)
    return len(stale)
