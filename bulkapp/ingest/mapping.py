"""Map a file's header row to an entity's fields, and the file's values to enum choices.

Headers are matched by meaning (``matching``): every column gets a best field and a
confidence. Without a person's say, only *certain* matches are used; a person's confirmed
mapping (``MappingChoice``) decides the other columns and translates unknown enum values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..entities import REGISTRY, EntitySchema, Field, header_key
from .errors import COLUMNS, ImportFailed
from .matching import (
    ALTERNATIVE,
    CERTAIN,
    MARGIN,
    MOST_ALTERNATIVES,
    SUGGEST,
    ranked_fields,
    resembles,
)
from .readings import FORMATS, ColumnNotes, ColumnReading, FileFormats
from .report import report_columns

UNKNOWN_VALUES_PER_COLUMN = 50  # distinct unknown values counted per column


@dataclass(frozen=True)
class ColumnMatch:
    """What one column of the file seems to be.

    Attributes:
        position: the column's position in the file (0-based).
        header: the header text as written (stripped).
        field: the best field, None when nothing fits well enough to suggest.
        confidence: how sure the match of ``field`` is (0–1); 0 without a field.
        alternatives: the next best fields with their confidence, best first.
        certain: confident and unambiguous: may be used without asking anyone.
    """

    position: int
    header: str
    field: str | None
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    certain: bool


@dataclass(frozen=True)
class EntityFit:
    """How well a file's headers fit one entity type."""

    name: str
    label: str
    matched: int  # columns whose best field of this type is at least a suggestion
    total: int  # columns with a header

    def describe(self) -> str:
        """E.g. ``mechanics: 7 of 8 columns match``."""
        return f"{self.name}: {self.matched} of {self.total} columns match"


@dataclass(frozen=True)
class MappingChoice:
    """A mapping a person confirmed: saved per organisation, or passed inline by the API.

    Attributes:
        columns: header text → field name, or None to ignore the column. Headers are
            compared ignoring case, accents, spaces, ``_``, ``-`` and ``.``.
        values: field name → {value as written in the file → the choice it means (enum
            fields), or None to leave it empty (optional fields)}.
        formats: number or date field name → how its column writes values that read two
            ways (``decimal_point`` or ``decimal_comma``; ``day_first`` or ``month_first``).
    """

    columns: dict[str, str | None]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The choice as plain JSON data (what ``from_json`` reads)."""
        data: dict = {
            "columns": dict(self.columns),
            "values": {name: dict(values) for name, values in self.values.items()},
        }
        if self.formats:
            data["formats"] = dict(self.formats)
        return data

    @classmethod
    def from_json(cls, data: object, schema: EntitySchema) -> MappingChoice:
        """Read and check a mapping for ``schema``.

        Fields may be named by field name (``mobile_number``) or label (``mobileNumber``).

        Raises:
            ValueError: with a message for the user saying what is wrong.
        """
        if not isinstance(data, Mapping):
            raise ValueError('A mapping must be an object with "columns" (and "values").')
        unexpected = set(data) - {"columns", "values", "formats"}
        if unexpected:
            raise ValueError(f"Unknown mapping keys: {', '.join(sorted(map(str, unexpected)))}.")
        columns = _read_columns(data.get("columns"), schema)
        values = _read_values(data.get("values") or {}, schema)
        formats = _read_formats(data.get("formats") or {}, schema)
        return cls(columns=columns, values=values, formats=formats)


def _field_named(schema: EntitySchema, name: object) -> Field:
    for f in schema.fields:
        if name in (f.name, f.label):
            return f
    known = ", ".join(f.label for f in schema.fields)
    raise ValueError(f"{name!r} is not a field of {schema.name}. Fields: {known}.")


def _read_columns(data: object, schema: EntitySchema) -> dict[str, str | None]:
    if not isinstance(data, Mapping) or not data:
        raise ValueError('"columns" must be an object: header → field name, or null to ignore.')
    columns: dict[str, str | None] = {}
    owners: dict[str, str] = {}
    headers: dict[str, str] = {}
    for header, name in data.items():
        if not isinstance(header, str) or not header.strip():
            raise ValueError("Every column of a mapping needs a header text.")
        if headers.setdefault(header_key(header), header) != header:
            raise ValueError(
                f"Columns {headers[header_key(header)]!r} and {header!r} are one header "
                "(case, spaces and punctuation aside): name it once."
            )
        if name is None:
            columns[header] = None
            continue
        chosen = _field_named(schema, name)
        if chosen.name in owners:
            raise ValueError(
                f"Columns {owners[chosen.name]!r} and {header!r} are both mapped to "
                f"{chosen.label}: map one of them to another field or ignore it."
            )
        owners[chosen.name] = header
        columns[header] = chosen.name
    return columns


def _read_values(data: object, schema: EntitySchema) -> dict[str, dict[str, str | None]]:
    if not isinstance(data, Mapping):
        raise ValueError(
            '"values" must be an object: field → {value in the file → choice, or null to '
            "leave it empty}."
        )
    values: dict[str, dict[str, str | None]] = {}
    for name, translations in data.items():
        target = _field_named(schema, name)
        if not isinstance(translations, Mapping):
            raise ValueError(f"Values of {target.label} must be an object: value → choice.")
        lookup = {header_key(c): c for c in target.choices}
        values[target.name] = {}
        for written, choice in translations.items():
            if not isinstance(written, str):
                raise ValueError(f"{target.label}: {written!r} is not a value of the file.")
            if choice is None:
                if target.required:
                    raise ValueError(
                        f"{target.label} is required: {written!r} cannot be left empty."
                    )
                values[target.name][written] = None
                continue
            if target.type != "enum":
                raise ValueError(
                    f"{target.label} has no list of accepted values to map to; a value can "
                    "only be left empty (null)."
                )
            meant = lookup.get(header_key(choice)) if isinstance(choice, str) else None
            if meant is None:
                raise ValueError(
                    f"{target.label}: {choice!r} is not one of: {', '.join(target.choices)}."
                )
            values[target.name][written] = meant
    return values


def _read_formats(data: object, schema: EntitySchema) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise ValueError('"formats" must be an object: field → its number or date format.')
    formats: dict[str, str] = {}
    for name, chosen in data.items():
        target = _field_named(schema, name)
        allowed = FORMATS.get(target.type)
        if allowed is None:
            raise ValueError(f"{target.label} is neither a number nor a date: it has no format.")
        if chosen not in allowed:
            raise ValueError(f"{target.label}: {chosen!r} is not one of: {', '.join(allowed)}.")
        formats[target.name] = chosen
    return formats


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file feeds which field, how unknown values translate, and how
    number and date columns are read.

    Attributes:
        positions: field name → position of its column in the file.
        warnings: messages for the user about columns that were not imported.
        values: field name → {value as written → choice, or None: empty}, from a person's
            mapping.
        formats: the format of each number and date column (chosen, or found in the file).
        ignored: the positions of the file's columns that no field reads.
    """

    positions: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    formats: FileFormats | None = None
    ignored: tuple[int, ...] = ()

    def reading_file(self, frames: Callable[[], Iterable[pd.DataFrame]]) -> ColumnMapping:
        """This mapping, deciding the format of number and date columns it leaves open from
        the whole file, which ``frames`` reads (every data row, columns by position)."""
        if self.formats is None:
            return self
        return replace(self, formats=self.formats.reading_file(frames))

    def reading(self, schema_field: Field, notes: ColumnNotes | None = None) -> ColumnReading:
        """How the column of ``schema_field`` is read (noting what it finds in ``notes``)."""
        formats = self.formats
        chosen = formats.chosen.get(schema_field.name) if formats else None
        left = [w for w, c in self.values.get(schema_field.name, {}).items() if c is None]
        if schema_field.type == "enum":
            left = [header_key(w) for w in left]
        return ColumnReading(
            chosen=chosen,
            whole_column=(
                formats.whole_column(schema_field.name)
                if formats and chosen is None and schema_field.type in FORMATS
                else None
            ),
            left_empty=frozenset(w.strip() for w in left),
            notes=notes,
        )

    def field_for(self, schema_field: Field) -> Field:
        """``schema_field`` with the value translations of this mapping as synonyms; a
        translation overrides a synonym the schema declares (never a choice itself)."""
        translations = {
            written: choice
            for written, choice in self.values.get(schema_field.name, {}).items()
            if choice is not None
        }
        if not translations:
            return schema_field
        choices = {header_key(c) for c in schema_field.choices}
        added = {
            header_key(written): (written, choice)
            for written, choice in translations.items()
            if header_key(written) not in choices
        }
        synonyms = {
            c: [s for s in schema_field.synonyms.get(c, ()) if header_key(s) not in added]
            for c in schema_field.choices
        }
        for written, choice in added.values():
            synonyms[choice].append(written)
        return replace(schema_field, synonyms={c: tuple(v) for c, v in synonyms.items()})


def match_columns(schema: EntitySchema, headers: Sequence[object]) -> list[ColumnMatch]:
    """Every column's best field of ``schema``, its confidence and alternatives.

    A column is certain when its best field reaches ``CERTAIN``, leads the next field by
    ``MARGIN`` and leads every other column claiming that field by ``MARGIN``.
    """
    matches: list[ColumnMatch] = []
    for position, raw in enumerate(headers):
        header = "" if raw is None else str(raw).strip()
        ranked = ranked_fields(schema, header)
        suggested = bool(ranked) and ranked[0][1] >= SUGGEST
        best, confidence = ranked[0] if suggested else (None, 0.0)
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        others = ranked[1:] if suggested else ranked  # a weak best is an alternative
        matches.append(
            ColumnMatch(
                position=position,
                header=header,
                field=best,
                confidence=confidence,
                alternatives=tuple(
                    (name, score)
                    for name, score in others[:MOST_ALTERNATIVES]
                    if score >= ALTERNATIVE
                ),
                certain=confidence >= CERTAIN and _leads(confidence, runner_up),
            )
        )
    return _settle_competition(matches)


def _leads(confidence: float, runner_up: float) -> bool:
    """True when ``confidence`` is at least ``MARGIN`` ahead (both are rounded to 0.01)."""
    return round(confidence - runner_up, 2) >= MARGIN


def _settle_competition(matches: list[ColumnMatch]) -> list[ColumnMatch]:
    """Columns claiming one field: only a clear leader may stay certain."""
    claims: dict[str, list[ColumnMatch]] = {}
    for match in matches:
        if match.field is not None:
            claims.setdefault(match.field, []).append(match)
    settled = {m.position: m for m in matches}
    for rivals in claims.values():
        if len(rivals) < 2:
            continue
        leader, second, *_ = sorted(rivals, key=lambda m: -m.confidence)
        clear = _leads(leader.confidence, second.confidence)
        for match in rivals:
            if match.certain and not (clear and match is leader):
                settled[match.position] = replace(match, certain=False)
    return [settled[m.position] for m in matches]


def header_signature(headers: Sequence[object]) -> str:
    """A fingerprint of a header row, for finding a mapping saved for the same headers.

    It ignores the order of the columns, empty headers, and case, accents, spaces, ``_``,
    ``-`` and ``.`` in each header (as ``MappingChoice`` does), so a file whose columns were
    moved or retyped in capitals still finds its mapping.
    """
    keys = sorted(header_key(h) for h in headers if h is not None and str(h).strip())
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()[:32]


def detect_entity(headers: Sequence[object]) -> list[EntityFit]:
    """How well ``headers`` fit every entity type, best first."""
    named = [h for h in headers if h is not None and str(h).strip()]
    fits = [
        EntityFit(schema.name, schema.label, len(resembles(schema, named)), len(named))
        for schema in REGISTRY.values()
    ]
    return sorted(fits, key=lambda fit: (-fit.matched, fit.name))


def header_scorer(schema: EntitySchema) -> Callable[[Sequence[object]], int]:
    """A function counting how many distinct fields of ``schema`` the cells of a row suggest.

    Readers use it to find the header row below title rows.
    """
    return lambda cells: len(resembles(schema, cells))


def _percent(confidence: float) -> str:
    return f"{round(confidence * 100)} %"


def _describe_expected(schema: EntitySchema) -> str:
    return ", ".join(f"{f.label}{' (required)' if f.required else ''}" for f in schema.fields)


def map_headers(
    schema: EntitySchema, headers: Sequence[str | None], choice: MappingChoice | None = None
) -> ColumnMapping:
    """Decide which column feeds which field of ``schema``.

    Columns named in ``choice`` go where the person said; the others are used only when
    their match is certain. Every column left out becomes a warning saying what it might
    be. Empty header cells are ignored.

    Raises:
        ImportFailed: two columns are certainly one field, or required columns are missing
            (the message suggests columns that might be them, and a better-fitting type).
    """
    matches = match_columns(schema, headers)
    chosen = {header_key(h): name for h, name in (choice.columns.items() if choice else ())}
    unchosen = [m for m in matches if m.header and header_key(m.header) not in chosen]
    _refuse_duplicates(schema, [m for m in unchosen if m.field not in chosen.values()])
    positions: dict[str, int] = {}
    for match in matches:
        name = chosen.get(header_key(match.header)) if match.header else None
        if name is not None:
            _claim(schema, positions, name, match, headers)
    report = report_columns(headers)  # an error report's row and errors: never data
    left_out = []
    for match in unchosen:
        if match.position in report:
            continue
        if match.certain and match.field is not None and match.field not in positions:
            positions[match.field] = match.position
        else:
            left_out.append(match)
    warnings = [_left_out(schema, match, positions, headers) for match in left_out]

    missing = [f for f in schema.required_fields if f.name not in positions]
    if missing:
        raise ImportFailed(_missing_message(schema, missing, matches, headers), COLUMNS)
    return ColumnMapping(
        positions=positions,
        warnings=warnings,
        values=dict(choice.values) if choice else {},
        formats=FileFormats(
            [f for f in schema.fields if f.type in FORMATS and f.name in positions],
            positions,
            choice.formats if choice else {},
        ),
        ignored=tuple(sorted(set(range(len(headers))) - set(positions.values()) - report)),
    )


def _refuse_duplicates(schema: EntitySchema, matches: list[ColumnMatch]) -> None:
    """Refuse columns that are each confidently one field with none clearly ahead."""
    tied: dict[str, list[ColumnMatch]] = {}
    for match in matches:
        if match.field is not None and match.confidence >= CERTAIN:
            tied.setdefault(match.field, []).append(match)
    clashes = {
        name: rivals
        for name, rivals in tied.items()
        if len(rivals) > 1 and not any(m.certain for m in rivals)
    }
    if clashes:
        described = "; ".join(
            f"{' and '.join(repr(m.header) for m in rivals)} are all {schema.field(name).label}"
            for name, rivals in clashes.items()
        )
        raise ImportFailed(
            f"Duplicate columns: {described}. Keep one column for each field "
            "and upload the file again.",
            COLUMNS,
        )


def _claim(
    schema: EntitySchema,
    positions: dict[str, int],
    name: str,
    match: ColumnMatch,
    headers: Sequence[str | None],
) -> None:
    """Give ``name`` the column of ``match``; refuse a second column for it."""
    if name in positions:
        first = str(headers[positions[name]]).strip()
        raise ImportFailed(
            f"Duplicate columns: {first!r} and {match.header!r} are all "
            f"{schema.field(name).label}. Keep one column for each field "
            "and upload the file again.",
            COLUMNS,
        )
    positions[name] = match.position


def _left_out(
    schema: EntitySchema,
    match: ColumnMatch,
    positions: dict[str, int],
    headers: Sequence[str | None],
) -> str:
    if match.field is None:
        return f"Unknown column {match.header!r} was ignored."
    label = schema.field(match.field).label
    guess = f"{match.header!r} might be {label} ({_percent(match.confidence)})"
    if match.field in positions:
        taken = str(headers[positions[match.field]]).strip()
        return f"{guess}, but {taken!r} is {label}: not imported."
    return f"{guess}: not imported."


def _missing_message(
    schema: EntitySchema,
    missing: list[Field],
    matches: list[ColumnMatch],
    headers: Sequence[str | None],
) -> str:
    parts = [f"Missing required column(s): {', '.join(f.label for f in missing)}."]
    for wanted in missing:
        candidates = [
            (m.header, score)
            for m in matches
            for name, score in ((m.field, m.confidence), *m.alternatives)
            if name == wanted.name and score >= SUGGEST
        ]
        if candidates:
            header, score = max(candidates, key=lambda c: c[1])
            parts.append(
                f"{header!r} might be {wanted.label} ({_percent(score)}): "
                "rename it or map it in a review."
            )
    fits = detect_entity(headers)
    mine = next(fit for fit in fits if fit.name == schema.name)
    if fits[0].name != schema.name and fits[0].matched > mine.matched:
        parts.append(f"This file looks like {fits[0].describe()}; choose that type instead.")
    parts.append(f"Expected columns: {_describe_expected(schema)}.")
    return " ".join(parts)


def unknown_values(
    schema: EntitySchema, mapping: ColumnMapping
) -> Callable[[pd.DataFrame], dict[str, dict[str, int]]]:
    """A collector of the enum values in a file that mean no choice (and are not read as
    empty), for the review.

    Feed it every chunk (a reader's frame, columns by position); each call returns the
    totals so far: field name → {value as written → how many rows}, at most
    ``UNKNOWN_VALUES_PER_COLUMN`` distinct values per field (rows with further values are
    not counted).
    """
    fields = [f for f in schema.fields if f.type == "enum" and f.name in mapping.positions]
    lookups = {
        f.name: (mapping.field_for(f).value_lookup, mapping.reading(f).empty_test(f))
        for f in fields
    }
    found: dict[str, dict[str, int]] = {name: {} for name in lookups}

    def collect(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
        for name, (lookup, reads_empty) in lookups.items():
            cells = frame[mapping.positions[name]].astype(object).to_numpy()
            codes, uniques = pd.factorize(cells)
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            counted = found[name]
            for value, count in zip(uniques.tolist(), counts.tolist(), strict=True):
                text = str(value).strip()
                if not text or header_key(text) in lookup:
                    continue
                if reads_empty is not None and reads_empty(text):
                    continue
                if text in counted or len(counted) < UNKNOWN_VALUES_PER_COLUMN:
                    counted[text] = counted.get(text, 0) + count
        return {name: dict(values) for name, values in found.items() if values}

    return collect
