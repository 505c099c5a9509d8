"""The analysis of an upload for its review: how its columns map, what its first rows become,
and a dry run over the whole file against the organisation's stored records.

The dry run reuses the import's machinery: a forked reading process reads and validates the
chunks (``ImportRun`` does the same), while this process has the database compare each
chunk with the stored rows, by the import's own definition of a change
(``persist.Comparer``). No record is written (the comparison uses a temporary table); the
rows the dry run rejects are handed to the sink with their chunk, as the import's are, so
that they can be fixed before the import (the fix page of a job in review). Rows a person
edited so are read as edited (``RowEdits``), as the import will read them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import (
    column,
    exists,
    select,
    table,
)
from sqlalchemy.orm import Session

from ..entities import REGISTRY, EntitySchema, header_key
from .errors import ImportFailed
from .mapping import (
    ColumnMapping,
    ColumnMatch,
    EntityFit,
    MappingChoice,
    detect_entity,
    header_scorer,
    header_signature,
    map_headers,
    match_columns,
    unknown_values,
)
from .persist import Comparer
from .pipeline import collector_paused
from .prefetch import Prefetcher
from .progress import Counters, MappingLookup, no_mapping
from .readers import Reader, open_reader, rereading
from .readers.common import HeaderScore
from .readings import (
    ColumnNotes,
    UnreadColumn,
    describe_readings,
    empty_values,
    merge_notes,
    merge_unread,
    refused_values,
    undecided,
)
from .rejected import FileLayout, Rejection, Rejections, RowEdits, chunk_rejections, reason_of
from .validate import ChunkOutcome, SeenKeys, raw_cells, validate_chunk

SAMPLES_PER_COLUMN = 3
PREVIEW_ROWS = 20
UPDATE_EXAMPLES = 20
REJECTION_GROUPS = 30
# The share of the progress bar the dry run covers (reading the header comes before it).
DRY_RUN_LOW, DRY_RUN_HIGH = 5, 99


@dataclass(frozen=True)
class AnalysisRequest:
    """One analysis of one uploaded file.

    Attributes:
        organisation_id: whose stored records the dry run compares with.
        schema: the entity type the file is said to hold.
        path: where the upload is stored.
        filename: the name the user gave it (its extension picks the reader).
        chunk_rows: rows per chunk of the dry run.
        detect: find the entity type that fits the headers best, and use it.
        mapping_for: the mapping a person chose for a header row of an entity type (the
            one given for this job, or one saved for those headers); None when nobody did.
    """

    organisation_id: int
    schema: EntitySchema
    path: Path
    filename: str
    chunk_rows: int
    detect: bool = False
    mapping_for: MappingLookup = no_mapping


class AnalysisSink(Protocol):
    """Where an analysis reports how far it got: the job system's side."""

    def record(self, percent: int, rows_done: int) -> None:
        """Record progress and commit it."""

    def cancel_requested(self) -> bool:
        """Whether the user asked to stop (checked between chunks)."""

    def predicting(self, layout: FileLayout) -> RowEdits:
        """The dry run starts, reading the file as ``layout``: forget the rows the last one
        predicted; returns the rows edited since, to read as edited."""

    def predict(self, rejections: Rejections, edited: list[Rejection]) -> None:
        """Keep a chunk's predicted rejected rows (the edited ones apart, valid or not, in
        ``edited``); committed with the next ``record``."""


@dataclass
class _Checked:
    """A chunk as the reading process hands it over (see ``pipeline.CheckedChunk``)."""

    rows: int
    first_row: int
    outcome: ChunkOutcome
    rejected: list[Rejection]  # invalid rows nobody edited
    edited: list[Rejection]  # edited rows, valid (without messages) or not
    unknown: dict[str, dict[str, int]]
    progress: int


def analyse_file(
    request: AnalysisRequest, session: Session, sink: AnalysisSink
) -> dict[str, Any] | None:
    """Analyse the upload of ``request``; returns the analysis as JSON-ready data, or None
    when the user canceled meanwhile.

    A file whose columns cannot be mapped (a required column missing) is still analysed as
    far as it can be: the mapping table, samples and the problem, without a dry run.

    Raises:
        ImportFailed: the file cannot be read at all.
    """
    schema, fits, reader, header_score = _entity_of(request)
    headers = [("" if h is None else str(h)) for h in reader.headers]
    choice = request.mapping_for(schema, headers)
    matches = match_columns(schema, headers)
    first = next(reader.chunks(PREVIEW_ROWS), None)
    first_frame = first.frame if first is not None else pd.DataFrame(columns=range(len(headers)))
    analysis: dict[str, Any] = {
        "entity_type": schema.name,
        "fits": [asdict(fit) for fit in fits],
        "headers": headers,
        "signature": header_signature(headers),
        "mapping": choice.to_json() if choice else None,
        "problem": None,
        "warnings": [],
        "preview": None,
        "counts": None,
        "updates": [],
        "rejections": [],
        "unknown_values": {},
        "readings": [],
        "empty_values": {},
        "refused_values": {},
        "not_imported": [],
        "certain": False,
    }
    try:
        mapping = map_headers(schema, headers, choice).reading_file(
            rereading(request.path, request.filename, header_score, request.chunk_rows)
        )
    except ImportFailed as exc:
        analysis["problem"] = str(exc)
        analysis["columns"] = _columns(schema, matches, first_frame, None, choice)
        return analysis
    analysis["warnings"] = mapping.warnings
    analysis["columns"] = _columns(schema, matches, first_frame, mapping, choice)
    analysis["preview"] = _preview(schema, mapping, first_frame, first.first_row if first else 2)
    sink.record(DRY_RUN_LOW, 0)
    layout = FileLayout.of(headers, mapping)
    with collector_paused():
        result = _dry_run(request, schema, reader, mapping, layout, session, sink)
    if result is None:
        return None
    counts = result.counts
    readings = describe_readings(
        schema, mapping.positions, mapping.formats.chosen if mapping.formats else {}, result.notes
    )
    analysis.update(
        counts={
            "total": counts.total,
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "rejected": counts.invalid,
        },
        updates=result.updates,
        rejections=result.rejections,
        unknown_values=result.unknown,
        readings=readings,
        empty_values=empty_values(result.notes),
        refused_values=refused_values(schema, result.notes),
        not_imported=_not_imported(matches, result.unread),
    )
    analysis["decisions"] = _decisions(
        schema, analysis["columns"], result.unknown, choice, readings, analysis["not_imported"]
    )
    analysis["certain"] = not analysis["decisions"]
    return analysis


def _not_imported(matches: list[ColumnMatch], unread: dict[int, UnreadColumn]) -> list[dict]:
    """The columns with values that no field reads, each with its rows, first values and
    the field it might be."""
    return [
        {
            "position": match.position,
            "header": match.header,
            "rows": unread[match.position].rows,
            "samples": unread[match.position].samples,
            "might_be": match.field,
        }
        for match in matches
        if match.position in unread
    ]


def _unexplained(not_imported: list[dict], choice: MappingChoice | None) -> list[dict]:
    """The columns with values left out without a mapping saying so (a column without a
    header cannot be named in one, so a person always sees it)."""
    ignored = {header_key(h) for h, name in (choice.columns.items() if choice else ()) if not name}
    return [c for c in not_imported if not c["header"] or header_key(c["header"]) not in ignored]


def _entity_of(
    request: AnalysisRequest,
) -> tuple[EntitySchema, list[EntityFit], Reader, HeaderScore]:
    """The entity type to analyse the file as, how well each type fits its headers, the
    file opened and how its header row was found (by that type's, or every type's,
    headers)."""
    if not request.detect:
        header_score = header_scorer(request.schema)
        reader = open_reader(request.path, request.filename, header_score=header_score)
        return request.schema, detect_entity(reader.headers), reader, header_score
    scorers = [header_scorer(schema) for schema in REGISTRY.values()]

    def best_score(cells: list[str]) -> int:
        return max(score(cells) for score in scorers)

    reader = open_reader(request.path, request.filename, header_score=best_score)
    fits = detect_entity(reader.headers)
    best = REGISTRY[fits[0].name] if fits[0].matched else request.schema
    return best, fits, reader, best_score


def _columns(
    schema: EntitySchema,
    matches: list[ColumnMatch],
    frame: pd.DataFrame,
    mapping: ColumnMapping | None,
    choice: MappingChoice | None,
) -> list[dict]:
    """The mapping table: per file column its header, samples, match and chosen field."""
    used = {position: name for name, position in (mapping.positions if mapping else {}).items()}
    chosen_by_person = {h for h, name in (choice.columns.items() if choice else ()) if name}
    rows = []
    for match in matches:
        cells = raw_cells(frame, match.position) if match.position in frame else []
        samples = [cell for cell in cells if cell not in (None, "")][:SAMPLES_PER_COLUMN]
        rows.append(
            {
                "position": match.position,
                "header": match.header,
                "samples": samples,
                "field": match.field,
                "confidence": match.confidence,
                "certain": match.certain or match.header in chosen_by_person,
                "alternatives": [list(alt) for alt in match.alternatives],
                "chosen": used.get(match.position),
            }
        )
    return rows


def _preview(
    schema: EntitySchema, mapping: ColumnMapping, frame: pd.DataFrame, first_row: int
) -> dict:
    """The first rows as they would be stored, each with its problems."""
    outcome = validate_chunk(schema, mapping, frame, SeenKeys())
    fields = [f for f in schema.fields if f.name in mapping.positions]
    problems: dict[int, list[str]] = {}
    for error in outcome.errors:
        problems.setdefault(error.position, []).append(error.message)
    valid = iter(range(outcome.valid))
    rows = []
    for position in range(len(frame)):
        if position in problems:
            cells = [raw_cells(frame, mapping.positions[f.name])[position] for f in fields]
            values = cells
        else:
            index = next(valid)
            values = [_shown(outcome.columns[f.name][index]) for f in fields]
        rows.append(
            {"row": first_row + position, "values": values, "errors": problems.get(position, [])}
        )
    return {"fields": [f.label for f in fields], "rows": rows}


def _shown(value: object) -> str | None:
    return None if value is None else str(value)


def _decisions(
    schema: EntitySchema,
    columns: list[dict],
    unknown: dict[str, dict[str, int]],
    choice: MappingChoice | None,
    readings: list[dict],
    not_imported: list[dict],
) -> list[str]:
    """What a person must decide before the file may be imported without asking anyone,
    one sentence each; none when every required field comes from a certain (or
    person-chosen) column, no column is merely suggested, every value is known, every
    ambiguous number or date column has its reading and every column with values that is
    left out was left out by a mapping."""
    by_field = {c["chosen"]: c for c in columns if c["chosen"]}
    needed = []
    for required in schema.required_fields:
        column = by_field.get(required.name)
        if column is None:
            needed.append(f"No column is imported as {required.title}, which is required.")
        elif not column["certain"]:
            needed.append(
                f"Column {column['header']!r} is only a likely match for {required.title}."
            )
    decided = set(choice.columns if choice else {})
    for column in columns:
        if column["field"] and not column["chosen"] and column["header"] not in decided:
            label = schema.field(column["field"]).title
            needed.append(f"Column {column['header']!r} might be {label}: import it or not.")
    for name, found in unknown.items():
        values = ", ".join(repr(value) for value in found)
        needed.append(f"{schema.field(name).title} has values it does not accept: {values}.")
    for name in undecided(readings):
        needed.append(f"{schema.field(name).title} can be read two ways: choose how.")
    for column in _unexplained(not_imported, choice):
        header = repr(column["header"]) if column["header"] else "without a header"
        needed.append(f"Column {header} has values that are not imported.")
    return needed


# -- the dry run ----------------------------------------------------------------------------


@dataclass
class _DryRun:
    """What the dry run found: the counts, the updates and rejections to show, the unknown
    values, what reading each column found, and the columns no field reads that hold
    values."""

    counts: Counters = field(default_factory=Counters)
    updates: list[dict] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    unknown: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: dict[str, ColumnNotes] = field(default_factory=dict)
    unread: dict[int, UnreadColumn] = field(default_factory=dict)


def _dry_run(
    request: AnalysisRequest,
    schema: EntitySchema,
    reader: Reader,
    mapping: ColumnMapping,
    layout: FileLayout,
    session: Session,
    sink: AnalysisSink,
) -> _DryRun | None:
    """Read, validate and compare every row, handing the rejected ones to the sink; None
    when canceled."""
    stored = _StoredRows(schema, mapping, request.organisation_id, session)
    found = _DryRun()
    counts, updates = found.counts, found.updates
    reasons: dict[tuple[str, str], int] = {}
    edits = sink.predicting(layout)
    chunks = Prefetcher(_checked(request, schema, reader, mapping, layout, edits, keep=stored.any))
    try:
        while (checked := next(chunks, None)) is not None:
            if sink.cancel_requested():  # looked up once the chunk is in (see ImportRun._pass)
                return None
            counts.total += checked.rows
            counts.invalid += len(checked.outcome.invalid_positions)
            for error in checked.outcome.errors:
                reason = (error.column, reason_of(error.message))
                reasons[reason] = reasons.get(reason, 0) + 1
            found.unknown = checked.unknown
            merge_notes(found.notes, checked.outcome.notes)
            merge_unread(found.unread, checked.outcome.unread)
            if checked.rejected or checked.edited:
                sink.predict(Rejections(layout, checked.rejected), checked.edited)
            if stored.any:
                stored.compare(checked, counts, updates)
            else:
                counts.inserted += checked.outcome.valid
            sink.record(checked.progress, counts.total)
    finally:
        chunks.close()
    found.rejections = [
        {"column": column_label, "reason": reason, "rows": rows}
        for (column_label, reason), rows in sorted(reasons.items(), key=lambda item: -item[1])
    ][:REJECTION_GROUPS]
    return found


def _checked(
    request: AnalysisRequest,
    schema: EntitySchema,
    reader: Reader,
    mapping: ColumnMapping,
    layout: FileLayout,
    edits: RowEdits,
    *,
    keep: bool,
) -> Iterator[_Checked]:
    """Read and validate chunks, edited rows as edited (runs in the reading process: no
    database access).

    Without stored records to compare with (``keep`` False) the valid rows' values stay
    in the reading process: counting them is enough.
    """
    seen = SeenKeys()
    collect = unknown_values(schema, mapping)
    span = DRY_RUN_HIGH - DRY_RUN_LOW
    for chunk in reader.chunks(request.chunk_rows):
        positions = edits.apply(chunk.frame, chunk.first_row)
        outcome = validate_chunk(schema, mapping, chunk.frame, seen)
        rows = chunk_rejections(schema, layout, chunk.frame, chunk.first_row, outcome, positions)
        edited = {chunk.first_row + position for position in positions}
        if not keep:
            outcome = replace(outcome, columns={})
        yield _Checked(
            len(chunk.frame),
            chunk.first_row,
            outcome,
            [row for row in rows if row.row not in edited],
            [row for row in rows if row.row in edited],
            collect(chunk.frame),
            DRY_RUN_LOW + int(span * reader.progress()),
        )
        gc.collect(1)


class _StoredRows:
    """The organisation's stored records of the entity, compared chunk by chunk with the
    file's rows inside the database, as the import decides what it changes."""

    def __init__(
        self, schema: EntitySchema, mapping: ColumnMapping, organisation_id: int, session: Session
    ) -> None:
        self.key = schema.natural_key
        provided = list(mapping.positions)
        self.comparer = Comparer(schema, organisation_id, provided, session)
        self.labels = {f.name: f.label for f in schema.fields}
        self.compared = [f.name for f in schema.fields if f.name in self.comparer.compared]
        organisation = table(schema.table, column("organisation_id")).c.organisation_id
        self.any = bool(session.scalar(select(exists().where(organisation == organisation_id))))

    def compare(self, checked: _Checked, counts: Counters, updates: list[dict]) -> None:
        """Count the chunk's valid rows as inserted, updated or unchanged; keep examples."""
        columns = checked.outcome.columns
        wanted = max(UPDATE_EXAMPLES - len(updates), 0)
        compared = self.comparer.compare(columns, checked.outcome.valid, wanted)
        counts.inserted += compared.inserted
        counts.updated += compared.updated
        counts.unchanged += compared.unchanged
        valid_rows = _valid_row_numbers(checked) if compared.examples else []
        for example in compared.examples:
            i = example.position
            updates.append(
                {
                    "row": valid_rows[i],
                    "key": ", ".join(str(columns[name][i]) for name in self.key),
                    "changes": [
                        {
                            "field": self.labels[name],
                            "old": _shown(example.old[name]),
                            "new": _shown(columns[name][i]),
                        }
                        for name in self.compared
                        if name in example.old
                    ],
                }
            )


def _valid_row_numbers(checked: _Checked) -> list[int]:
    """The spreadsheet row numbers of the chunk's valid rows, in order."""
    invalid = set(checked.outcome.invalid_positions)
    return [checked.first_row + i for i in range(checked.rows) if i not in invalid]
