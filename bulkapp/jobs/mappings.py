"""Remembered mappings: the mapping a person confirmed for a header row, saved per
organisation and entity type, and applied to the next file with the same headers."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Select, select

from .. import audit
from ..entities import EntitySchema
from ..errors import NOTHING_HERE, NotFound
from ..extensions import db
from ..ingest.mapping import MappingChoice, header_signature
from ..ingest.progress import MappingLookup
from ..ingest.readings import FROM_FILE
from ..models import ImportJob, SavedMapping, User, is_storable_id, utcnow
from ..unit_of_work import use_case
from .lifecycle import JobActionError
from .state import iso_timestamp

log = logging.getLogger(__name__)


class MappingNotFound(NotFound):
    """No such saved mapping, or one of another organisation."""

    code = "mapping_not_found"
    page_message = NOTHING_HERE

    def __init__(self, mapping_id: int) -> None:
        super().__init__(f"There is no saved mapping {mapping_id}.")
        self.mapping_id = mapping_id


def mapping_lookup(job: ImportJob) -> MappingLookup:
    """How ``job`` finds the mapping of its file's headers: the one chosen for the job (on
    its review page or passed to the API), else the one saved for those headers, which is
    then recorded on the job."""

    def lookup(schema: EntitySchema, headers: list[str]) -> MappingChoice | None:
        if job.mapping is not None and schema.name == job.entity_type:
            return MappingChoice.from_json(job.mapping, schema)
        saved = db.session.scalar(
            select(SavedMapping).where(
                SavedMapping.organisation_id == job.organisation_id,
                SavedMapping.entity_type == schema.name,
                SavedMapping.header_signature == header_signature(headers),
            )
        )
        if saved is None:
            return None
        try:
            choice = MappingChoice.from_json(saved.mapping, schema)
        except ValueError as exc:  # the entity type changed since it was saved
            log.warning("saved mapping %s no longer fits %s: %s", saved.id, schema.name, exc)
            return None
        job.mapping, job.saved_mapping_id = saved.mapping, saved.id
        return choice

    return lookup


def remember_mapping(job: ImportJob, user: User | None) -> SavedMapping:
    """Save ``job``'s confirmed mapping for its headers (replacing an older one)."""
    analysis = job.analysis or {}
    headers = analysis.get("headers", [])
    signature = header_signature(headers)
    saved = db.session.scalar(
        select(SavedMapping).where(
            SavedMapping.organisation_id == job.organisation_id,
            SavedMapping.entity_type == job.entity_type,
            SavedMapping.header_signature == signature,
        )
    )
    if saved is None:
        saved = SavedMapping(
            organisation_id=job.organisation_id,
            entity_type=job.entity_type,
            header_signature=signature,
        )
        db.session.add(saved)
    saved.headers, saved.mapping = list(headers), _chosen_by_a_person(job)
    saved.created_by_id = user.id if user else None
    saved.created_at = utcnow()
    db.session.flush()  # the job keeps naming only a mapping that was applied to it
    _audit(saved, "mapping_saved", user)
    return saved


def _audit(saved: SavedMapping, action: str, user: User | None) -> None:
    headers = ", ".join(map(str, saved.headers or []))
    audit.record(
        action,
        actor=user,
        target=f"mapping {saved.id}",
        organisation_id=saved.organisation_id,
        detail=f"{saved.entity_type}: {headers}",
    )


def _chosen_by_a_person(job: ImportJob) -> dict[str, Any]:
    """``job``'s mapping without the formats its analysis took from the file's values: the
    next file with these headers shows its own."""
    mapping = dict(job.mapping or {})
    found = {
        r["field"] for r in (job.analysis or {}).get("readings", []) if r["source"] == FROM_FILE
    }
    formats = {name: f for name, f in mapping.get("formats", {}).items() if name not in found}
    mapping.pop("formats", None)
    return {**mapping, "formats": formats} if formats else mapping


def saved_mappings_visible_to(user: User) -> Select:
    """The saved mappings ``user`` may see (their organisation's; all for a super admin),
    newest first."""
    query = select(SavedMapping).order_by(SavedMapping.created_at.desc(), SavedMapping.id.desc())
    if not user.is_super_admin:
        query = query.where(SavedMapping.organisation_id == user.organisation_id)
    return query


def require_saved_mapping(user: User, mapping_id: int) -> SavedMapping:
    """The saved mapping ``mapping_id`` if ``user`` may see it.

    Raises:
        MappingNotFound: there is none, or it belongs to another organisation.
    """
    found = (
        db.session.scalar(saved_mappings_visible_to(user).where(SavedMapping.id == mapping_id))
        if is_storable_id(mapping_id)
        else None
    )
    if found is None:
        raise MappingNotFound(mapping_id)
    return found


@use_case
def delete_saved_mapping(user: User, mapping_id: int) -> None:
    """Forget a saved mapping (admins only); jobs that used it keep their own copy.

    Raises:
        MappingNotFound: ``user`` cannot see it.
        JobActionError: ``user`` is not an admin (403).
    """
    saved = require_saved_mapping(user, mapping_id)
    if not user.is_admin:
        raise JobActionError(
            "Only the organisation's admins can delete saved mappings.",
            code="forbidden",
            status=403,
        )
    _audit(saved, "mapping_deleted", user)
    db.session.delete(saved)


def describe_saved(saved: SavedMapping) -> dict[str, Any]:
    """A saved mapping as the API and the saved mappings page show it."""
    return {
        "id": saved.id,
        "entity": saved.entity_type,
        "headers": saved.headers,
        "mapping": saved.mapping,
        "createdBy": saved.created_by.email if saved.created_by else None,
        "createdAt": iso_timestamp(saved.created_at),
    }
