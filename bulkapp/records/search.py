"""What a search and the filters of a view ask of the database.

**Search** is by prefix: a record matches when every word of the query starts one of its
searched fields (the natural key, names, e-mail addresses, phone numbers; the schema's
``search_fields``), or the whole query starts one (``van der Merwe``), ignoring the case of
A-Z. A query of digits (spaces, dashes and brackets
allowed) is one number: ``082 123 4567`` finds ``0821234567``, ``+27821234567`` and
``27821234567``. A prefix is a range of the field's search index (``folded`` values, byte
order), so it is answered from the index on SQLite and PostgreSQL alike; "contains" is not
offered, since neither database can answer it from an index at a million rows without an
index that would slow every import down.

A prefix that the index can answer is a ``Prefix``; the first word of a search and each
filter on a searched field become a ``Driver`` (records matching any of its prefixes), which
``query`` may read the page from; the rest of a search is ``search_rest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, and_, false, func, literal, or_

from ..entities import EntitySchema, Field
from ..models.entity_tables import folded
from .fields import entity_table
from .view import Condition, RecordView

MAX_WORDS = 5
# Every string that starts with a prefix sorts below the prefix followed by this (the highest
# code point), byte by byte as the search indexes compare.
_ABOVE_EVERY_SUFFIX = "\U0010ffff"
# A query made of digits and phone punctuation is one number, spaces and all.
_NUMBER_QUERY = re.compile(r"\+?[\d\s().\-/]+")
_NOT_DIGITS = re.compile(r"[^\d]")
_LIKE_SPECIALS = re.compile(r"([\\%_])")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """``text`` with A-Z in lower case, as the search indexes hold names: SQLite's lower()
    and PostgreSQL's under the byte order (collation ``C``) leave other letters alone."""
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Prefix:
    """``expression`` (a searched field, folded) starts with ``term``."""

    expression: ColumnElement
    term: str

    def indexed(self) -> ColumnElement:
        """The condition as a range of the field's search index."""
        return self._range(self.expression)

    def checked(self) -> ColumnElement:
        """The same condition in a form no index matches, checked on rows read another way
        (the database cannot drive the query by it instead of by the condition that was
        chosen): the value's first characters equal the term."""
        return func.substr(self.expression, 1, len(self.term)) == self.term

    def _range(self, expression: ColumnElement) -> ColumnElement:
        return and_(expression >= self.term, expression < self.term + _ABOVE_EVERY_SUFFIX)


@dataclass(frozen=True)
class Driver:
    """Records matching any of ``prefixes``: a search word, or a filter on a searched field."""

    prefixes: tuple[Prefix, ...]

    def indexed(self) -> ColumnElement:
        """Any of the prefixes, as ranges of their indexes."""
        return or_(*(p.indexed() for p in self.prefixes)) if self.prefixes else false()

    def checked(self) -> ColumnElement:
        """Any of the prefixes, checked on rows read another way."""
        return or_(*(p.checked() for p in self.prefixes)) if self.prefixes else false()


def _number_variants(digits: str) -> list[str]:
    """A phone number as it may be stored: ``082…``, ``+2782…`` and ``2782…`` alike."""
    for local, rest in (("+27", 3), ("27", 2), ("0", 1)):
        if digits.startswith(local) and len(digits) > rest:
            national = digits[rest:]
            return ["0" + national, "+27" + national, "27" + national]
    return [digits]


def field_terms(field: Field, word: str) -> list[str]:
    """``word`` folded as ``field``'s search index holds values (none: it cannot match)."""
    if field.type == "email":
        return [word.lower()]
    if field.type in ("phone", "sa_id"):
        digits = _NOT_DIGITS.sub("", word)
        if not digits or field.type == "sa_id":
            return [digits] if digits else []
        return _number_variants(("+" if word.startswith("+") else "") + digits)
    return [ascii_lower(word)]


def search_words(q: str) -> list[str]:
    """The words of a search (at most ``MAX_WORDS``); a number is one word."""
    q = q.strip()
    if _NUMBER_QUERY.fullmatch(q) and sum(c.isdigit() for c in q) >= 3:
        return [("+" if q.startswith("+") else "") + _NOT_DIGITS.sub("", q)]
    return q.split()[:MAX_WORDS]


def _field_prefixes(table: Table, field: Field, word: str) -> tuple[Prefix, ...]:
    expression = folded(table, field)
    return tuple(Prefix(expression, term) for term in field_terms(field, word))


def _word_driver(schema: EntitySchema, table: Table, word: str) -> Driver:
    return Driver(tuple(p for f in schema.search_fields for p in _field_prefixes(table, f, word)))


def drivers(view: RecordView) -> list[Driver]:
    """The search's first word and each filter on a searched field, as ``Driver``s: every
    record of ``view`` matches each of them."""
    schema = view.schema
    table = entity_table(schema)
    words = search_words(view.q)
    found = [_word_driver(schema, table, words[0])] if words else []
    for condition in view.conditions:
        if condition.filter.kind == "prefix" and condition.filter.indexed:
            (text,) = condition.values
            found.append(Driver(_field_prefixes(table, condition.filter.field, text)))
    return found


def search_rest(view: RecordView) -> ColumnElement | None:
    """What a search of several words asks beyond its first word: every other word starts a
    field too, or the whole query starts one (``van der Merwe``)."""
    words = search_words(view.q)
    if len(words) < 2:
        return None
    table = entity_table(view.schema)
    phrase = _word_driver(view.schema, table, " ".join(words))
    others = [_word_driver(view.schema, table, word).checked() for word in words[1:]]
    return or_(phrase.checked(), and_(*others))


def _like_text(text: str) -> str:
    return _LIKE_SPECIALS.sub(r"\\\1", text)


def filter_condition(schema: EntitySchema, condition: Condition) -> ColumnElement | None:
    """``condition`` in SQL; None for a filter on a searched field (it is a ``Driver``)."""
    table = entity_table(schema)
    flt = condition.filter
    column = table.c[flt.field.name]
    if flt.kind == "choice":
        return column.in_(condition.values)
    if flt.kind == "range":
        low, high = condition.values
        return and_(
            *([column >= low] if low is not None else []),
            *([column <= high] if high is not None else []),
        )
    if flt.indexed:
        return None
    (text,) = condition.values
    # No index: the database's own lower() on both sides, and LIKE, whatever the collation.
    return func.lower(column).like(func.lower(literal(_like_text(text))).concat("%"), escape="\\")
