"""What an import is asked to do, and what it reports back as it goes.

The pipeline knows nothing of jobs, queues or the web: it receives an ``ImportRequest`` and
reports every step to an ``ImportSink``, which the job system implements by recording the
step on the import's job row in the same transaction as the chunk's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from ..entities import EntitySchema
from .mapping import MappingChoice
from .rejected import Rejections, RowEdits

# The mapping a person chose for a header row of an entity type, if any (see ImportRequest).
MappingLookup = Callable[[EntitySchema, list[str]], MappingChoice | None]


def no_mapping(schema: EntitySchema, headers: list[str]) -> MappingChoice | None:
    """Nobody chose a mapping: only certain matches are used."""
    return None


VALIDATE, WRITE = "validate", "write"
# The stages an import goes through, each timed (seconds, summed over every attempt).
TIMED_STAGES = ("parsing", "validating", "saving", "finalizing")


@dataclass
class Counters:
    """Row counts of one import, carried across chunks, passes and resumed attempts."""

    total: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> Counters:
        """Counters from a checkpoint's dict (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in saved.items() if k in names})


@dataclass(frozen=True)
class Checkpoint:
    """Where an import stands after a committed chunk: enough to resume it exactly.

    Attributes:
        phase: the pass over the file (``validate`` or ``write``).
        rows_done: data rows of that pass that are done.
        counters: the counts so far.
    """

    phase: str
    rows_done: int
    counters: Counters

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as JSON-ready data."""
        return {
            "phase": self.phase,
            "rows_done": self.rows_done,
            "counters": asdict(self.counters),
        }

    @classmethod
    def restore(cls, saved: dict[str, Any] | None) -> Checkpoint | None:
        """The checkpoint stored by ``to_dict``; None for an import that has none."""
        if not saved or "phase" not in saved:
            return None
        return cls(
            phase=str(saved["phase"]),
            rows_done=int(saved.get("rows_done", 0)),
            counters=Counters.restore(saved.get("counters", {})),
        )


@dataclass(frozen=True)
class ImportRequest:
    """One attempt at importing one uploaded file.

    Attributes:
        job_id: the import's id (rows it stores are tagged with it).
        organisation_id: the organisation that owns the rows.
        schema: the entity type of the rows.
        path: where the upload is stored.
        filename: the name the user gave the file (its extension picks the reader).
        mode: ``partial``, ``all_or_nothing`` or ``validate_only``.
        chunk_rows: rows per chunk (one transaction each).
        checkpoint: where an earlier attempt stopped, if one did.
        stage_seconds: seconds per stage spent by earlier attempts.
        mapping_for: the mapping a person chose for the file's header row (on the review
            page, saved for those headers, or passed to the API); by default none.
        change_log: write the change log with the rows (what undo needs); False only for
            the benchmark's runs measuring the import without it.
        edits: rows edited in review, read as edited instead of as the file has them.
    """

    job_id: str
    organisation_id: int
    schema: EntitySchema
    path: Path
    filename: str
    mode: str
    chunk_rows: int
    checkpoint: Checkpoint | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    mapping_for: MappingLookup = no_mapping
    change_log: bool = True
    edits: RowEdits = field(default_factory=RowEdits)


@dataclass(frozen=True)
class Progress:
    """One step of an import, for the job to record.

    Attributes:
        stage: the stage the import is in (one of ``TIMED_STAGES``).
        percent: how far it is, 0-99 (100 is for the job to set when it completes).
        rows_done: data rows processed so far.
        counters: the counts so far.
        stage_seconds: seconds per stage over every attempt.
        warnings: messages for the user about the file (ignored columns).
        checkpoint: where to resume (None before the first chunk of a fresh import, and
            once the import has finished its passes).
        rejected: the whole file was rejected (all-or-nothing mode found invalid rows).
        estimated_rows: the file's data rows, estimated from the share of its bytes read so
            far (None before the first chunk).
    """

    stage: str
    percent: int
    rows_done: int
    counters: Counters
    stage_seconds: dict[str, float]
    warnings: list[str]
    checkpoint: Checkpoint | None
    rejected: bool = False
    estimated_rows: int | None = None


class ImportSink(Protocol):
    """Where an import reports its steps: the job system's side of the pipeline."""

    def record(self, progress: Progress) -> None:
        """Record ``progress`` in the transaction the next ``commit`` ends."""

    def reject(self, rejections: Rejections) -> None:
        """Keep a chunk's rejected rows, in the transaction the next ``commit`` ends."""

    def carried(self, rows: list[int]) -> None:
        """Note that the chunk imported the rows of an error report numbered ``rows`` (its
        ``row`` column: the rows of the report's job), in the transaction the next ``commit``
        ends."""

    def commit(self) -> None:
        """End the current transaction: the chunk's rows, its rejected rows and its recorded
        progress."""

    def cancel_requested(self) -> bool:
        """Whether the user asked to stop the import (checked between chunks)."""
