"""Undo an import: remove the records it inserted and restore the values it replaced, from the
change log, keeping (and listing) every record changed since by a later import.

A record is the import's to take back while its ``import_job_id`` is still the import's: any
later import that changed it, or an undo that restored it, wrote its own there. So:

* **removed**: inserted by the import (``created_job_id``) and not changed since;
* **restored**: updated by the import (its ``record_changes`` rows) and not changed since: every
  field, ``import_job_id`` and ``updated_at`` go back to what they were before it;
* **kept**: changed since (the conflict names the job that did), or no longer there.

``plan_undo`` counts this without changing anything (the confirm page and the API's preview).
``run_undo`` does it, from ``start_undo``'s progress, in steps of ``chunk_rows`` log rows or
records, each step in one transaction with the undo's own change log (a restore is an
``update`` row, ``{field: [now, restored]}``; a removal a ``delete`` row holding the removed
row) and its checkpoint, so a killed undo resumes exactly where it stopped. The restores come
first, then the removals.
Every write re-checks ``import_job_id`` in its ``WHERE``, so a record a concurrent import
changes is kept, never overwritten; on PostgreSQL a step also takes the imports' lock of the
organisation's records of the type (``ingest.changelog.lock_statement``), on SQLite a write
transaction from its start.

Plain functions on a SQLAlchemy session: no Flask, no RQ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, RowMapping, Table, and_, delete, func, select, text, update
from sqlalchemy.orm import Session

from ..entities import EntitySchema, get_entity
from ..ingest import changelog
from ..models import ENTITY_TABLES, ImportJob, RecordChange, rows_matched
from ..models.record_change import DELETE, UPDATE
from .query import record_key

RESTORE, REMOVE, DONE = "restore", "remove", "done"
LISTED_CONFLICTS = 100  # kept records listed by name; the rest are counted
# A model declared with __tablename__ is mapped to a Table (typed as any FromClause).
CHANGES = cast(Table, RecordChange.__table__)


@dataclass(frozen=True)
class Kept:
    """A record the undo leaves as it is: changed since by the job ``changed_by``, or gone
    (``key`` and ``changed_by`` None)."""

    record_id: int
    key: str | None
    changed_by: str | None


@dataclass(frozen=True)
class UndoPlan:
    """What undoing an import does now: how many records it removes, restores and keeps,
    and the first kept ones."""

    removed: int
    restored: int
    kept: int
    conflicts: tuple[Kept, ...]

    @property
    def total(self) -> int:
        return self.removed + self.restored + self.kept


@dataclass
class UndoProgress:
    """Where a running undo is (its checkpoint): the step, the last log row or record id
    done in it, and the counts so far."""

    total: int
    step: str = RESTORE
    after: int = 0
    removed: int = 0
    restored: int = 0
    kept: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.removed + self.restored + self.kept

    @property
    def percent(self) -> int:
        if self.step == DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0

    def counts(self) -> dict[str, int]:
        return {"removed": self.removed, "restored": self.restored, "kept": self.kept}

    def keep(self, kept: Kept) -> None:
        self.kept += 1
        if len(self.conflicts) < LISTED_CONFLICTS:
            self.conflicts.append(asdict(kept))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def restore(cls, checkpoint: dict[str, Any] | None) -> UndoProgress | None:
        """The progress saved in ``checkpoint``; None for a fresh undo."""
        return cls(**checkpoint) if checkpoint and "step" in checkpoint else None


class UndoSink(Protocol):
    """Where a running undo reports: its progress each step, and a commit of the step."""

    def record(self, progress: UndoProgress) -> None: ...

    def commit(self) -> None: ...

    def cancel_requested(self) -> bool: ...


def _context(job: ImportJob) -> tuple[EntitySchema, Table]:
    return get_entity(job.entity_type), ENTITY_TABLES[job.entity_type]


def _logged_by(job: ImportJob) -> ColumnElement[bool]:
    """The ``record_changes`` rows of the records ``job`` updated."""
    return and_(
        CHANGES.c.import_job_id == job.id,
        CHANGES.c.entity_type == job.entity_type,
        CHANGES.c.action == UPDATE,
    )


def _inserted_by(table: Table, job: ImportJob) -> ColumnElement[bool]:
    return and_(table.c.organisation_id == job.organisation_id, table.c.created_job_id == job.id)


def _updated(table: Table, job: ImportJob):
    """The records ``job`` updated (and did not insert), each once, joined to its row now
    (none for a record that is gone)."""
    records = select(CHANGES.c.record_id).where(_logged_by(job)).distinct().subquery()
    joined = records.outerjoin(
        table,
        and_(table.c.id == records.c.record_id, table.c.organisation_id == job.organisation_id),
    )
    return records, joined, table.c.created_job_id.is_distinct_from(job.id)


def plan_undo(session: Session, job: ImportJob) -> UndoPlan:
    """What undoing ``job`` would do now (nothing is changed)."""
    schema, table = _context(job)
    mine = table.c.import_job_id == job.id
    changed = table.c.import_job_id.is_distinct_from(job.id)
    removed, kept_inserted = session.execute(
        select(func.count().filter(mine), func.count().filter(changed)).where(
            _inserted_by(table, job)
        )
    ).one()
    records, joined, not_inserted = _updated(table, job)
    restored, kept_updated, gone = session.execute(
        select(
            func.count().filter(mine),
            func.count().filter(table.c.id.is_not(None), changed),
            func.count().filter(table.c.id.is_(None)),
        )
        .select_from(joined)
        .where(not_inserted)
    ).one()
    key_columns = [table.c[name] for name in schema.natural_key]
    listed = session.execute(
        select(table.c.id, table.c.import_job_id, *key_columns)
        .where(_inserted_by(table, job), changed)
        .order_by(table.c.id)
        .limit(LISTED_CONFLICTS)
    ).mappings()
    listed_updated = session.execute(
        select(records.c.record_id, table.c.id, table.c.import_job_id, *key_columns)
        .select_from(joined)
        .where(not_inserted, table.c.id.is_(None) | changed)
        .order_by(records.c.record_id)
        .limit(LISTED_CONFLICTS)
    ).mappings()
    conflicts = [_kept(schema, row["id"], row) for row in listed]
    conflicts += [_kept(schema, row["record_id"], row) for row in listed_updated]
    return UndoPlan(
        removed=removed,
        restored=restored,
        kept=kept_inserted + kept_updated + gone,
        conflicts=tuple(conflicts[:LISTED_CONFLICTS]),
    )


def _kept(schema: EntitySchema, record_id: int, row: RowMapping | None) -> Kept:
    if row is None or row["id"] is None:
        return Kept(record_id, None, None)
    return Kept(record_id, record_key(schema, row), row["import_job_id"])


def start_undo(session: Session, job: ImportJob, checkpoint: dict[str, Any] | None) -> UndoProgress:
    """The progress of an undo of ``job``: resumed from ``checkpoint``, or fresh (its total
    the plan's)."""
    resumed = UndoProgress.restore(checkpoint)
    return resumed if resumed is not None else UndoProgress(total=plan_undo(session, job).total)


def run_undo(
    session: Session,
    undo_job_id: str,
    job: ImportJob,
    progress: UndoProgress,
    chunk_rows: int,
    sink: UndoSink,
) -> bool:
    """Run the undo of ``job`` (as the job ``undo_job_id``) from ``progress`` to its end, one
    step of ``chunk_rows`` per transaction, each recorded and committed through ``sink``;
    False when a cancel request stopped it."""
    while progress.step != DONE:
        if sink.cancel_requested():
            return False
        _write_transaction(session, job)
        if progress.step == RESTORE:
            _restore_step(session, undo_job_id, job, progress, chunk_rows)
        else:
            _remove_step(session, undo_job_id, job, progress, chunk_rows)
        sink.record(progress)
        sink.commit()
    return True


def _write_transaction(session: Session, job: ImportJob) -> None:
    """Make the session's transaction one that writes job's records alone (see the module)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:org, :entity)"),
            {"org": job.organisation_id, "entity": changelog.lock_key(get_entity(job.entity_type))},
        )
        return
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


def _restore_step(
    session: Session, undo_job_id: str, job: ImportJob, progress: UndoProgress, chunk_rows: int
) -> None:
    """Restore the records of the next ``chunk_rows`` log rows of ``job``."""
    schema, table = _context(job)
    chunk = session.execute(
        select(CHANGES.c.id, CHANGES.c.record_id)
        .where(_logged_by(job), CHANGES.c.id > progress.after)
        .order_by(CHANGES.c.id)
        .limit(chunk_rows)
    ).all()
    if not chunk:
        progress.step, progress.after = REMOVE, 0
        return
    ids = {record_id for _, record_id in chunk}
    logs: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for log_id, record_id, changes in session.execute(
        select(CHANGES.c.id, CHANGES.c.record_id, CHANGES.c.changes)
        .where(_logged_by(job), CHANGES.c.record_id.in_(ids))
        .order_by(CHANGES.c.id)
    ):
        logs.setdefault(record_id, []).append((log_id, changes))
    rows = {
        row["id"]: row
        for row in session.execute(
            select(table).where(table.c.id.in_(ids), table.c.organisation_id == job.organisation_id)
        ).mappings()
    }
    written = []
    for record_id, entries in sorted(logs.items(), key=lambda item: item[1][0][0]):
        if entries[0][0] <= progress.after:
            continue  # an earlier step handled it, at its first log row
        row = rows.get(record_id)
        if row is not None and row["created_job_id"] == job.id:
            continue  # inserted by the import too: the removal step takes it
        if row is None or row["import_job_id"] != job.id:
            progress.keep(_kept(schema, record_id, row))
            continue
        before = _before(entries)
        matched = rows_matched(
            session,
            update(table)
            .where(table.c.id == record_id, table.c.import_job_id == job.id)
            .values({name: _from_log(schema, name, value) for name, value in before.items()}),
        )
        if not matched:
            progress.keep(_kept(schema, record_id, row))
            continue
        progress.restored += 1
        written.append(
            _log_row(
                undo_job_id,
                job,
                record_id,
                UPDATE,
                {name: [_to_log(row[name]), value] for name, value in before.items()},
            )
        )
    _write_log(session, written)
    progress.after = chunk[-1][0]


def _before(entries: Sequence[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """Each logged column's value before the import: the old value of its first change."""
    before: dict[str, Any] = {}
    for _, changes in entries:
        for name, pair in changes.items():
            if isinstance(pair, list) and len(pair) == 2:
                before.setdefault(name, pair[0])
    return before


def _remove_step(
    session: Session, undo_job_id: str, job: ImportJob, progress: UndoProgress, chunk_rows: int
) -> None:
    """Remove the next ``chunk_rows`` records the import inserted (keeping changed ones)."""
    schema, table = _context(job)
    rows = (
        session.execute(
            select(table)
            .where(_inserted_by(table, job), table.c.id > progress.after)
            .order_by(table.c.id)
            .limit(chunk_rows)
        )
        .mappings()
        .all()
    )
    if not rows:
        progress.step, progress.after = DONE, 0
        return
    mine = [row for row in rows if row["import_job_id"] == job.id]
    removed = set(
        session.scalars(
            delete(table)
            .where(table.c.id.in_([row["id"] for row in mine]), table.c.import_job_id == job.id)
            .returning(table.c.id)
        )
        if mine
        else ()
    )
    written = []
    for row in rows:
        if row["id"] not in removed:
            progress.keep(_kept(schema, row["id"], row))
            continue
        progress.removed += 1
        written.append(
            _log_row(undo_job_id, job, row["id"], DELETE, {k: _to_log(v) for k, v in row.items()})
        )
    _write_log(session, written)
    progress.after = rows[-1]["id"]


def _log_row(
    undo_job_id: str, job: ImportJob, record_id: int, action: str, changes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "import_job_id": undo_job_id,
        "entity_type": job.entity_type,
        "record_id": record_id,
        "action": action,
        "changes": changes,
    }


def _write_log(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        session.execute(CHANGES.insert(), rows)


def _to_log(value: Any) -> Any:
    """A column's value as the change log writes it (``models.record_change``)."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_log(schema: EntitySchema, name: str, value: Any) -> Any:
    """A value of column ``name`` as the change log holds it, to store again."""
    if value is None:
        return None
    if name == "updated_at":
        return datetime.fromisoformat(str(value))
    if name not in schema.field_names:
        return value
    kind = schema.field(name).type
    if kind == "date":
        return date.fromisoformat(str(value))
    if kind == "decimal":
        return Decimal(str(value))
    if kind == "integer":
        return int(value)
    return value
