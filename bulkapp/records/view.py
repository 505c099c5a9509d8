"""A view of an entity type's records as a user asks for it: search, filters and sort, read
from the query string (the pages' and the API's alike)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..entities import EntitySchema, Field, header_key
from ..ingest.normalise import replace_unstorable
from .fields import ADDED, FieldFilter, SortKey, field_filters, sort_keys

DEFAULT_SORT = "-" + ADDED
SEARCH_MAX_LENGTH = 200


@dataclass(frozen=True)
class Condition:
    """One filter as asked: the chosen values of a list, the prefix, or a range's bounds."""

    filter: FieldFilter
    values: tuple[Any, ...]

    def as_args(self) -> list[tuple[str, str]]:
        """The condition as query-string arguments."""
        name = self.filter.name
        if self.filter.kind == "range":
            low, high = self.values
            return [
                (name + suffix, str(bound))
                for suffix, bound in (("From", low), ("To", high))
                if bound is not None
            ]
        return [(name, str(value)) for value in self.values]


@dataclass(frozen=True)
class RecordView:
    """What a user asked to see of one organisation's records of one entity type."""

    schema: EntitySchema
    organisation_id: int
    q: str = ""
    conditions: tuple[Condition, ...] = field(default=())
    sort: str = DEFAULT_SORT

    @property
    def sort_key(self) -> SortKey:
        """The order the records are read in."""
        return sort_keys(self.schema)[self.sort.removeprefix("-")]

    @property
    def descending(self) -> bool:
        """True when the sort runs from the highest value down."""
        return self.sort.startswith("-")

    def condition_of(self, name: str) -> Condition | None:
        """The condition on the filter called ``name``, if any."""
        return next((c for c in self.conditions if c.filter.name == name), None)

    def as_args(self) -> list[tuple[str, str]]:
        """The view as query-string arguments (search, filters, sort), for links."""
        args = [("q", self.q)] if self.q else []
        for condition in self.conditions:
            args += condition.as_args()
        if self.sort != DEFAULT_SORT:
            args.append(("sort", self.sort))
        return args


def _first(args: Mapping[str, Sequence[str]], name: str) -> str:
    values = args.get(name) or [""]
    return replace_unstorable(values[0].strip())


def _choice(flt: FieldFilter, raw: str, errors: list[str]) -> str | None:
    choice = flt.field.value_lookup.get(header_key(raw))
    if choice is None:
        errors.append(f"Unknown {flt.name} {raw!r}; choose one of: {', '.join(flt.field.choices)}.")
    return choice


def _bound(field_: Field, raw: str, errors: list[str]) -> Any:
    """A range bound of ``field_``'s type; None (with a message) when it is not one."""
    if not raw:
        return None
    try:
        if field_.type == "date":
            return date.fromisoformat(raw)
        if field_.type == "integer":
            return int(raw)
        value = Decimal(raw)
        if not value.is_finite():
            raise InvalidOperation
        return value
    except (ValueError, InvalidOperation):
        kind, example = {
            "date": ("date", "2024-05-31"),
            "integer": ("whole number", "12"),
        }.get(field_.type, ("number", "1500.50"))
        errors.append(f"{field_.label} must be a {kind} such as {example}; {raw!r} is not.")
        return None


def _conditions(
    schema: EntitySchema, args: Mapping[str, Sequence[str]], errors: list[str]
) -> tuple[Condition, ...]:
    found = []
    for name, flt in field_filters(schema).items():
        if flt.kind == "range":
            low, high = (
                _bound(flt.field, _first(args, name + end), errors) for end in ("From", "To")
            )
            if low is not None or high is not None:
                found.append(Condition(flt, (low, high)))
        elif flt.kind == "choice":
            raws = [value.strip() for value in args.get(name) or () if value.strip()]
            chosen = [c for c in (_choice(flt, raw, errors) for raw in raws) if c is not None]
            if chosen:
                found.append(Condition(flt, tuple(dict.fromkeys(chosen))))
        elif prefix := _searched(args, name, flt.field.label, errors):
            found.append(Condition(flt, (prefix,)))
    return tuple(found)


def _searched(args: Mapping[str, Sequence[str]], name: str, label: str, errors: list[str]) -> str:
    """The text searched for by ``args[name]``; a text over ``SEARCH_MAX_LENGTH`` is an
    error, never cut short."""
    text = _first(args, name)
    if len(text) > SEARCH_MAX_LENGTH:
        errors.append(f"{label}: search for at most {SEARCH_MAX_LENGTH} characters.")
        return ""
    return text


def parse_view(
    schema: EntitySchema, organisation_id: int, args: Mapping[str, Sequence[str]]
) -> tuple[RecordView, list[str]]:
    """The view that query-string ``args`` (every value of each name) ask for, and a message
    for each argument that made no sense (it is left out of the view)."""
    errors: list[str] = []
    sort = _first(args, "sort") or DEFAULT_SORT
    if sort.removeprefix("-") not in sort_keys(schema):
        names = ", ".join(sort_keys(schema))
        errors.append(f"Records cannot be sorted by {sort!r}; sort by one of: {names}.")
        sort = DEFAULT_SORT
    view = RecordView(
        schema=schema,
        organisation_id=organisation_id,
        q=_searched(args, "q", "Search", errors),
        conditions=_conditions(schema, args, errors),
        sort=sort,
    )
    return view, errors
