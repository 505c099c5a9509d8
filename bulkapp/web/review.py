"""The review page of an analysed upload, and the organisation's saved mappings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..entities import REGISTRY, get_entity
from ..extensions import db
from ..jobs.access import require_job
from ..jobs.fixes import fix_counts, rows_kept
from ..jobs.mappings import delete_saved_mapping, saved_mappings_visible_to
from ..jobs.review import change_entity_type, change_mapping, commit_review, discard_review
from ..jobs.state import job_state, type_shown
from ..models import NEEDS_REVIEW, ImportJob
from .forms import ConfirmForm
from .helpers import refusals_flashed

bp = Blueprint("review", __name__)

ACTIONS = ("import", "analyse", "discard", "switch")
LEAVE_EMPTY = "(leave empty)"  # the form's value for "store this value as empty"


@bp.route("/jobs/<job_id>/review")
def show(job_id: str):
    """What the analysis found; the mapping to confirm or change."""
    job = require_job(current_user, job_id)
    if job.status != NEEDS_REVIEW:
        return redirect(url_for("jobs.show", job_id=job.id))
    schema = get_entity(job.entity_type)
    analysis = job.analysis or {}
    return render_template(
        "review.html",
        job=job,
        better=_better_type(schema.name, analysis),
        type_shown=type_shown(job),
        state=job_state(job),
        analysis=analysis,
        schema=schema,
        entities=sorted(REGISTRY.values(), key=lambda s: s.label),
        form=ConfirmForm(),
        leave_empty=LEAVE_EMPTY,
        fixes=fix_counts(job) if rows_kept(job) else None,
    )


def _better_type(chosen: str, analysis: dict[str, Any]) -> dict[str, Any] | None:
    """The type the file's headers fit better than the one chosen, if any. The chosen type
    counts every column the mapping imports: once it fits at least as well, and its
    required fields are all there, nothing is suggested."""
    fits = analysis.get("fits", [])
    best = fits[0] if fits else None
    if best is None or best["name"] == chosen:
        return None
    mapped = sum(1 for column in analysis.get("columns", []) if column["chosen"])
    chosen_fit = max([mapped, *(fit["matched"] for fit in fits if fit["name"] == chosen)])
    return best if analysis.get("problem") or best["matched"] > chosen_fit else None


def _submitted_choice(job: ImportJob) -> dict[str, Any]:
    """The mapping the review form holds: a field (or nothing) per column, a choice (or
    "leave empty") for each value the user translated, and the format of each number or
    date column the user chose. A column the form leaves out keeps the field the analysis
    used; a format the form does not choose stays as the column shows it."""
    analysis = job.analysis or {}
    given = analysis.get("mapping") or {}
    columns = {
        c["header"]: request.form.get(f"column-{c['position']}", c["chosen"] or "") or None
        for c in analysis.get("columns", [])
        if c["header"]
    }
    values: dict[str, dict[str, str | None]] = {}
    for prefix, listed in (
        ("value", analysis.get("unknown_values") or {}),
        ("empty", analysis.get("refused_values") or {}),
    ):
        for name, found in listed.items():
            for index, written in enumerate(found):
                meant = request.form.get(f"{prefix}-{name}-{index}")
                if meant:
                    values.setdefault(name, {})[written] = None if meant == LEAVE_EMPTY else meant
    formats = dict(given.get("formats", {}))
    for reading in analysis.get("readings", []):
        chosen = request.form.get(f"format-{reading['field']}")
        if chosen:
            formats[reading["field"]] = chosen
    choice = {"columns": columns, "values": {**given.get("values", {}), **values}}
    return {**choice, "formats": formats} if formats else choice


def _back_to_review(job_id: str):
    return redirect(url_for("review.show", job_id=job_id))


@bp.route("/jobs/<job_id>/review", methods=["POST"])
@refusals_flashed(_back_to_review)
def act(job_id: str):
    """Import, analyse again with the mapping shown, switch the type, or discard."""
    job = require_job(current_user, job_id, "act")
    action = request.form.get("action", "")
    if not ConfirmForm().validate_on_submit() or action not in ACTIONS:
        abort(400)
    if action == "discard":
        discard_review(job, current_user)
        flash("The file was discarded; nothing was imported.", "info")
    elif action == "switch":
        change_entity_type(job, request.form.get("entity_type", ""))
    elif action == "analyse":
        change_mapping(job, _submitted_choice(job))
    else:
        commit_review(job, current_user, _submitted_choice(job))
        if job.phase == "analysis":
            flash(
                "The mapping changed, so the file is analysed again; the import follows unless "
                "something needs your decision, and then the review says what."
            )
    return redirect(url_for("jobs.show", job_id=job_id))


@bp.route("/mappings")
def mappings():
    """The organisation's saved mappings (admins may delete them)."""
    saved = db.session.scalars(saved_mappings_visible_to(current_user)).all()
    return render_template("mappings.html", saved=saved, schemas=REGISTRY, form=ConfirmForm())


@bp.route("/mappings/<int:mapping_id>/delete", methods=["POST"])
def delete_mapping(mapping_id: int):
    """Forget a saved mapping: the next file with its headers is reviewed again."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    delete_saved_mapping(current_user, mapping_id)
    flash("The saved mapping was deleted.", "info")
    return redirect(url_for("review.mappings"))
