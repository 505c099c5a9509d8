"""Normalise and validate one column of a chunk at a time, by field type.

Every function takes the column's raw cells (``str`` or ``None``) and returns the normalised
values (``None`` where empty or invalid) and the errors as ``(position, message)`` pairs. The
common case (every cell already clean) takes one pass in C where possible; only odd cells go
through the slower per-value path. Whatever the type, a cell holding a character that no
database can store (NUL, or half of a UTF-16 surrogate pair) is rejected first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd

from ..entities import Field, header_key
from .dates import DateText, iso_date
from .numbers import DECIMAL_POINT, NumberText, plain
from .readings import AMBIGUOUS, EMPTY, REJECTED, ColumnNotes, ColumnReading, read_as
from .sa_id import sa_id_errors

Errors = list[tuple[int, str]]
Result = tuple[list, Errors]

EMAIL_MAX_LENGTH = 254
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 9, 15
INTEGER_LIMIT = 2_147_483_647
INTEGER_MAX_DIGITS = 19  # more than any integer column holds; int() refuses over 4,300
DECIMAL_LIMIT = Decimal("999999999999.99")  # Numeric(14, 2)
CENT = Decimal("0.01")
QUOTED_MAX_LENGTH = 40  # how much of a bad value a message repeats

_OTHER_CURRENCY = re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP|AUD|NAD|BWP)\b", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_EMAIL_LINES = re.compile(rf"^{_EMAIL.pattern}$", re.MULTILINE)  # no class matches a newline
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"\+?[0-9]+")
# PostgreSQL text cannot hold NUL; UTF-8 (SQLite, PostgreSQL, the error report) cannot encode
# a lone surrogate, which JSON's "\ud800" escape produces.
# OWASP CSV injection: a spreadsheet treats cells starting with these as formulas; exports
# and the error report write them after an apostrophe (``report.escape_cell``).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_FORMULAS = tuple("'" + prefix for prefix in FORMULA_PREFIXES)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def replace_unstorable(text: str) -> str:
    """``text`` with every character that cannot be stored replaced by U+FFFD, the mark of an
    unreadable character."""
    return _UNSTORABLE.sub("\ufffd", text)


def _quoted(value: str) -> str:
    """``value`` quoted for a message, cut short when long."""
    if len(value) > QUOTED_MAX_LENGTH:
        value = value[:QUOTED_MAX_LENGTH] + "…"
    return repr(value)


def _unstorable_message(label: str, character: str) -> str:
    what = (
        "NUL, byte 0"
        if character == "\x00"
        else f"U+{ord(character):04X}: half of a two-part character such as an emoji"
    )
    return (
        f"{label} contains a character that cannot be stored ({what}). Remove it and upload again."
    )


def _joined(values: Sequence[str | None]) -> str:
    """Every cell of a column in one string (one join in C), to look for a character."""
    try:
        # Assume every cell is present: the common case; a None raises.
        return "".join(cast(Sequence[str], values))
    except TypeError:  # the column has empty cells (None): join the others
        return "".join(filter(None, values))


def formula_unescaped(values: Sequence[str | None], joined: str) -> Sequence[str | None]:
    """The cells as they were before an export or the error report wrote them formula-safe
    (``escape_cell``): the apostrophe added before ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return is dropped, so that a file downloaded from here uploads as it was. A
    column without an apostrophe (``joined``: its cells) is returned as it is."""
    if "'" not in joined:
        return values
    return [v[1:] if v and v.startswith(_ESCAPED_FORMULAS) else v for v in values]


def _unstorable(values: Sequence[str | None], label: str, joined: str) -> Errors:
    """An error for every cell holding a character that cannot be stored (``joined``: the
    column's cells, ``_joined``).

    A clean column costs two scans in C; only a column that has such a character is searched
    cell by cell.
    """
    if "\x00" not in joined and (joined.isascii() or _encodes_as_utf8(joined)):
        return []
    errors = []
    for i, value in enumerate(values):
        found = _UNSTORABLE.search(value) if value else None
        if found:
            errors.append((i, _unstorable_message(label, found.group())))
    return errors


def _encodes_as_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _present(values: Sequence[str | None]) -> Sequence[str]:
    """The cells that are not empty (None): ``values`` itself when none is."""
    if None in values:
        return [v for v in values if v is not None]
    return cast(Sequence[str], values)  # no None in it, checked just above


class Refused(NamedTuple):
    """A value that is not accepted: why, and what the review notes of it besides (the
    format it shows; ``AMBIGUOUS``: it reads two ways)."""

    message: str
    note: str | None = None


class Noted(NamedTuple):
    """An accepted value the review notes: the format it shows, or that it was ambiguous."""

    value: object
    note: str


class Pending(NamedTuple):
    """A value that reads two ways, to be read once the column's format is known."""

    text: str
    readings: Any


Convert = Callable[[str], Any]  # a value, Refused, Noted or Pending


def _by_unique(
    values: Sequence[str | None],
    field: Field,
    reading: ColumnReading,
    convert: Convert,
    settle: Callable[[dict[int, Any]], dict[int, Any]] | None = None,
    *,
    plain: bool = False,
) -> Result:
    """Trim and ``convert`` each distinct value once, then spread the results.

    Most columns repeat their values (cities, provinces, dates, names), so this costs one
    hash per cell and one Python call per distinct value. ``convert`` receives non-empty
    trimmed text that is not to be read as empty and returns the normalised value, a
    ``Refused`` or ``Noted`` one, or a ``Pending`` one that ``settle`` converts once every
    value was seen (code of the distinct value → its ``Pending``). ``plain`` values are
    known to be neither empty, nor placeholders, nor lists.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    written = uniques.tolist()
    if plain:
        converted = [convert(text) for text in written]
        pending: dict[int, Pending] = {}
        outcomes: dict[int, Refused | Noted] = {
            code: out for code, out in enumerate(converted) if type(out) is Refused
        }
        for code in outcomes:
            converted[code] = None
    else:
        converted, pending, outcomes = _convert_distinct(written, field, reading, convert)
    if pending and settle is not None:
        for code, out in settle(pending).items():
            converted[code] = _settled(code, out, outcomes)
    lookup = np.asarray(converted + [None], dtype=object)
    normalised = lookup[codes].tolist()  # code -1 (an empty cell) picks the trailing None
    if reading.notes is not None:
        _note(reading.notes, field, codes, written, converted, outcomes)
    if not outcomes:
        return normalised, []
    refused = {code: out.message for code, out in outcomes.items() if type(out) is Refused}
    if not refused:
        return normalised, []
    positions = np.flatnonzero(np.isin(codes, list(refused))).tolist()
    return normalised, [(i, refused[codes[i]]) for i in positions]


def _convert_distinct(
    written: list[str], field: Field, reading: ColumnReading, convert: Convert
) -> tuple[list, dict[int, Pending], dict[int, Refused | Noted]]:
    """Each distinct value trimmed and converted (None when empty or read as empty), the
    pending ones, and the refused or noted ones, by the value's code."""
    converted: list = []
    pending: dict[int, Pending] = {}
    outcomes: dict[int, Refused | Noted] = {}
    reads_empty = reading.empty_test(field)
    for code, raw in enumerate(written):
        text = raw.strip()
        if not text:
            out = None
        elif reads_empty is not None and reads_empty(text):
            out = Noted(None, EMPTY)
        elif text[0] in "[{":
            out = _nested(text, field, convert)
        else:
            out = convert(text)
        if type(out) is Pending:
            pending[code], out = out, None
        converted.append(_settled(code, out, outcomes))
    return converted, pending, outcomes


def _settled(code: int, out: Any, outcomes: dict[int, Refused | Noted]) -> Any:
    """The value to store for a converted value ``out``; a refused or noted one is kept in
    ``outcomes`` under the distinct value's ``code``."""
    if type(out) is Refused or type(out) is Noted:
        outcomes[code] = out
        return out.value if type(out) is Noted else None
    return out


def _note(
    notes: ColumnNotes,
    field: Field,
    codes: np.ndarray,
    written: list[str],
    converted: list,
    outcomes: dict[int, Refused | Noted],
) -> None:
    """Count the rows of each noted value into ``notes``; keep the first value stored as the
    column's sample."""
    if notes.sample is None:
        first = next((code for code, value in enumerate(converted) if value is not None), None)
        if first is not None:
            notes.sample = (written[first].strip(), str(converted[first]))
    if not outcomes:
        return
    rows = np.bincount(codes[codes >= 0], minlength=len(written)).tolist()
    for code, out in outcomes.items():
        text = written[code].strip()
        if out.note is not None:
            stored = _shown(out.value) if type(out) is Noted else None
            notes.add(out.note, text, rows[code], stored)
        if type(out) is Refused and out.note != AMBIGUOUS and not field.required:
            notes.add(REJECTED, text, rows[code])


def _shown(value: object) -> str | None:
    return None if value is None else str(value)


def _nested(text: str, field: Field, convert: Convert) -> Any:
    """A value written as a JSON list or object (as JSON files and some exports hold them):
    a list is joined when the field declares how (``Field.list_joiner``), else refused; an
    object is refused. Other text that starts with a bracket is converted as it is, and so
    is a list or object a person gave a meaning in the mapping (an enum's translation)."""
    if text[-1] not in "]}":
        return convert(text)
    if field.type == "enum":
        translated = convert(text)
        if type(translated) is not Refused:
            return translated
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return convert(text)
    if isinstance(parsed, dict):
        return Refused(
            f"{field.label} {_quoted(text)} is a group of values, not one value. Map the "
            "group's parts to fields instead (such as workshop.city)."
        )
    if not isinstance(parsed, list):
        return convert(text)
    if field.list_joiner is None:
        return Refused(f"{field.label} {_quoted(text)} is a list of values; it takes one value.")
    if any(isinstance(item, (dict, list)) for item in parsed):
        return Refused(
            f"{field.label} {_quoted(text)} is a list of groups of values; only a list of "
            "plain values can be joined."
        )
    items = [_item_text(item) for item in parsed if item not in (None, "")]
    return convert(field.list_joiner.join(items)) if items else None


def _item_text(item: object) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item).strip()


def text(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """Trimmed text within ``max_length``."""
    limit = field.max_length
    too_long = Refused(f"{field.label} is longer than {limit} characters.")
    return _by_unique(values, field, reading, lambda v: v if len(v) <= limit else too_long)


def _clean_email(value: str) -> str | None:
    value = value.strip().lower()
    return value if _EMAIL.fullmatch(value) and len(value) <= EMAIL_MAX_LENGTH else None


def _one_per_line(values: Sequence[str]) -> str | None:
    """``values`` joined by newlines, or None when a value holds a newline of its own."""
    joined = "\n".join(values)
    return joined if joined.count("\n") == len(values) - 1 else None


def _all_emails(values: Sequence[str]) -> bool:
    """True when every value is a plausible e-mail address: one regex scan of the column."""
    joined = _one_per_line(values)
    return (
        joined is not None
        and len(_EMAIL_LINES.findall(joined)) == len(values)
        and max(map(len, values)) <= EMAIL_MAX_LENGTH
    )


def email(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """Trimmed, lower-cased e-mail addresses of a plausible shape."""
    out = [v.lower() if v is not None else None for v in values]
    if _all_emails(_present(out)):
        return out, []
    invalid = Refused(f"{field.label} is not a valid e-mail address.")
    return _by_unique(out, field, reading, lambda v: _clean_email(v) or invalid)


def _phone_digits(value: str) -> str | None:
    cleaned = _PHONE_PUNCTUATION.sub("", value)
    if _PHONE.fullmatch(cleaned) is None:
        return None
    digits = len(cleaned) - cleaned.startswith("+")
    return cleaned if PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS else None


def _all_plain_phones(values: Sequence[str]) -> bool:
    """True when every value is already 9 to 15 ASCII digits, checked in C."""
    joined = "".join(values)
    return (
        joined.isascii()
        and joined.isdigit()
        and min(map(len, values)) >= PHONE_MIN_DIGITS
        and max(map(len, values)) <= PHONE_MAX_DIGITS
    )


def phone(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """Phone numbers as digits (a leading ``+`` kept), 9 to 15 digits long."""
    if _all_plain_phones(_present(values)):
        return list(values), []
    invalid = Refused(
        f"{field.label} must be a phone number of {PHONE_MIN_DIGITS} to "
        f"{PHONE_MAX_DIGITS} digits (spaces, dashes and a leading + are fine)."
    )
    return _by_unique(values, field, reading, lambda v: _phone_digits(v) or invalid)


class PlainForm(NamedTuple):
    """The way most values of a number or date column are written, which reads one way only
    (or the same both ways): ``column`` matches a column of them joined by newlines, ``read``
    reads one; a value holding ``mark`` shows the format ``shows``."""

    column: re.Pattern
    read: Callable[[str], Any]
    mark: str | None = None
    shows: str | None = None


def _formatted(
    values: Sequence[str | None],
    field: Field,
    reading: ColumnReading,
    finish: Callable[[Any, str], Any],
    unreadable: Callable[[str, Any], str],
    ambiguous: Callable[[str, Any], str],
    plain_form: PlainForm,
) -> Result:
    """A number or date column: each value read under both formats; values that read one way
    only are converted at once (and noted as showing that format), and ambiguous ones once
    the column's format is known. ``finish(read value, text)`` checks and converts a value
    read; the other two word the refusals.

    A column whose every value is in its ``plain_form`` (``450.50``, ``2026-01-31``: what
    spreadsheets and other apps export) has nothing to decide and is read without it."""
    plainly = _plain_column(values, field, reading, finish, plain_form)
    if plainly is not None:
        return plainly
    column = _TwoWayColumn(field, reading, finish, unreadable, ambiguous)
    return _by_unique(values, field, reading, column.convert, column.settle)


class _TwoWayColumn:
    """How the values of a column that may read two ways are converted (see ``_formatted``);
    remembers the formats its values show, for a column judged by its values alone."""

    def __init__(
        self,
        field: Field,
        reading: ColumnReading,
        finish: Callable[[Any, str], Any],
        unreadable: Callable[[str, Any], str],
        ambiguous: Callable[[str, Any], str],
    ) -> None:
        self.field, self.reading, self.finish = field, reading, finish
        self.unreadable, self.ambiguous = unreadable, ambiguous
        self.read = read_as(field.type)
        self.shown: dict[str, int] = {}

    def convert(self, text: str) -> Any:
        """``text`` converted, or ``Pending`` when it reads two ways."""
        readings = self.read(text)
        if readings.ambiguous:
            return Pending(text, readings)
        value = readings.read(None)
        if value is None:
            return Refused(self.unreadable(text, readings))
        out = self.finish(value, text)
        shown = readings.evidence
        if shown is None:
            return out
        self.shown[shown] = 1
        return Refused(out.message, shown) if type(out) is Refused else Noted(out, shown)

    def settle(self, pending: dict[int, Any]) -> dict[int, Any]:
        """The values that read two ways, read in the column's format (refused without one)."""
        chosen = self.reading.format_of(self.field.type, self.shown)
        if self.reading.notes is not None and self.reading.chosen is None:
            self.reading.notes.found_format = chosen
        settled: dict[int, Refused | Noted] = {}
        for code, (text, readings) in pending.items():
            value = readings.read(chosen)
            if value is None:
                settled[code] = Refused(self.ambiguous(text, readings), AMBIGUOUS)
                continue
            out = self.finish(value, text)
            settled[code] = (
                Refused(out.message, AMBIGUOUS) if type(out) is Refused else Noted(out, AMBIGUOUS)
            )
        return settled


def _plain_column(
    values: Sequence[str | None],
    field: Field,
    reading: ColumnReading,
    finish: Callable[[Any, str], Any],
    plain_form: PlainForm,
) -> Result | None:
    """``values`` read, when every one is in ``plain_form`` (then none reads two ways, none
    is a placeholder); else None. One pattern checks the whole column, in C."""
    present = _present(values)
    joined = _one_per_line(present) if present and not reading.left_empty else None
    if joined is None or plain_form.column.fullmatch(joined) is None:
        return None
    normalised = _by_unique(
        values, field, reading, lambda text: finish(plain_form.read(text), text), plain=True
    )
    if reading.notes is not None:
        _note_plain(reading.notes, present, joined, plain_form, finish)
    return normalised


def _note_plain(
    notes: ColumnNotes, present: Sequence[str], joined: str, plain_form: PlainForm, finish: Callable
) -> None:
    """Note the rows of a plain column whose values show a format, and the first of them."""
    mark, shown = plain_form.mark, plain_form.shows
    rows = joined.count(mark) if mark else 0  # a plain value holds its mark once at most
    if not rows or mark is None or shown is None:
        return
    first = next(v for v in present if mark in v)
    stored = finish(plain_form.read(first), first)
    notes.add(shown, first, rows, None if type(stored) is Refused else _shown(stored))


def _lines_of(value: str) -> re.Pattern:
    """A pattern matching values that each match ``value``, joined by newlines."""
    return re.compile(rf"(?:{value}\n)*{value}")


PLAIN_NUMBER = PlainForm(_lines_of(r"-?[0-9]+(?:\.[0-9]{1,2})?"), Decimal, ".", DECIMAL_POINT)
PLAIN_DATE = PlainForm(_lines_of(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), iso_date)


def _number_refusals(field: Field, expected: str) -> tuple[Callable, Callable]:
    """The messages of a number column: unreadable, and ambiguous with no format decided."""

    def unreadable(text: str, readings: NumberText) -> str:
        message = expected.format(quoted=_quoted(text))
        if _OTHER_CURRENCY.search(text):
            message += " It is in another currency: amounts are in rand (R or ZAR)."
        if readings.shortened:
            message += (
                f" {_quoted(text)} is written with an exponent, the short form in which Excel "
                "shows long numbers and loses their last digits: write the number out in full "
                "(format the column as a number and export the file again)."
            )
        return message

    def ambiguous(text: str, readings: NumberText) -> str:
        point, comma = plain(cast(Decimal, readings.point)), plain(cast(Decimal, readings.comma))
        return (
            f"{field.label} {_quoted(text)} could be {point} or {comma}: nothing else in the "
            "column shows whether a comma or a point marks the decimals. Choose the column's "
            "number format when reviewing the upload, or write the number unambiguously."
        )

    return unreadable, ambiguous


def integer(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """Whole numbers (``12``, ``12.0``, ``1 250``) within the field's bounds and an Integer
    column's."""
    low = -INTEGER_LIMIT if field.min_value is None else max(int(field.min_value), -INTEGER_LIMIT)
    high = INTEGER_LIMIT if field.max_value is None else min(int(field.max_value), INTEGER_LIMIT)
    not_whole = Refused(f"{field.label} must be a whole number.")
    out_of_range = Refused(f"{field.label} must be between {low:,} and {high:,}.")

    def finish(number: Decimal, text: str) -> int | Refused:
        if number != number.to_integral_value():
            return not_whole
        if number and number.adjusted() >= INTEGER_MAX_DIGITS:
            return out_of_range
        whole = int(number)
        return whole if low <= whole <= high else out_of_range

    unreadable, ambiguous = _number_refusals(field, not_whole.message)
    return _formatted(values, field, reading, finish, unreadable, ambiguous, PLAIN_NUMBER)


def _decimal_bounds(field: Field) -> tuple[Decimal, Decimal]:
    """The field's bounds, within what a Numeric(14, 2) column holds."""
    low = -DECIMAL_LIMIT if field.min_value is None else Decimal(str(field.min_value))
    high = DECIMAL_LIMIT if field.max_value is None else Decimal(str(field.max_value))
    return max(low, -DECIMAL_LIMIT), min(high, DECIMAL_LIMIT)


def decimal(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """Amounts with at most two decimal places within the field's bounds, as text."""
    low, high = _decimal_bounds(field)
    expected = (
        f"{field.label} {{quoted}} must be a number with at most two decimals from {low:,} up "
        f"to {high:,}."
    )

    def finish(number: Decimal, text: str) -> str | Refused:
        # The range first: quantize() fails on numbers of more than 28 digits.
        if not low <= number <= high or number != number.quantize(CENT):
            return Refused(expected.format(quoted=_quoted(text)))
        return f"{abs(number) if number.is_zero() else number:.2f}"  # no "-0.00"

    unreadable, ambiguous = _number_refusals(field, expected)
    return _formatted(values, field, reading, finish, unreadable, ambiguous, PLAIN_NUMBER)


def enum(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """One of the field's choices or their synonyms, matched ignoring case, accents, spaces,
    ``_``, ``-`` and ``.``."""
    canonical = field.value_lookup
    allowed = ", ".join(field.choices)
    return _by_unique(
        values,
        field,
        reading,
        lambda v: (
            canonical.get(header_key(v))
            or Refused(f"{field.label} {_quoted(v)} is not one of: {allowed}.")
        ),
    )


def date(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """Dates in common formats, as ISO ``YYYY-MM-DD`` text."""

    def unreadable(text: str, readings: DateText | None) -> str:
        return (
            f"{field.label} {_quoted(text)} is not a date; use YYYY-MM-DD "
            "(e.g. 2026-01-31) or DD/MM/YYYY."
        )

    def ambiguous(text: str, readings: DateText) -> str:
        return (
            f"{field.label} {_quoted(text)} could be {readings.day_first} or "
            f"{readings.month_first}: the column has dates written day first and month "
            "first. Choose the column's date order when reviewing the upload, or write the "
            "date as YYYY-MM-DD."
        )

    def finish(iso: str | None, text: str) -> str | Refused:
        return iso if iso is not None else Refused(unreadable(text, None))

    return _formatted(values, field, reading, finish, unreadable, ambiguous, PLAIN_DATE)


def sa_id(values: Sequence[str | None], field: Field, reading: ColumnReading) -> Result:
    """South African ID numbers: 13 digits, a real date of birth, a valid checksum."""
    out = [
        (v.strip().replace(" ", "").replace("-", "") or None) if v is not None else None
        for v in values
    ]
    reads_empty = reading.empty_test(field)
    if reads_empty is not None:
        out = [
            None if v is not None and reads_empty(cast(str, raw).strip()) else v
            for v, raw in zip(out, values, strict=True)
        ]
    errors = sa_id_errors(out, field.label)
    for i, _ in errors:
        out[i] = None
    return out, errors


NORMALISERS: dict[str, Callable[[Sequence[str | None], Field, ColumnReading], Result]] = {
    "string": text,
    "email": email,
    "phone": phone,
    "date": date,
    "integer": integer,
    "decimal": decimal,
    "enum": enum,
    "sa_id": sa_id,
}


def normalise_column(
    values: Sequence[str | None], field: Field, reading: ColumnReading | None = None
) -> Result:
    """Normalise and validate one column of ``field``'s type, read as ``reading`` says (by
    default: as its own values show).

    A cell holding a character that cannot be stored is rejected with its own message; the
    type's rules judge the other cells.
    """
    reading = reading or ColumnReading()
    joined = _joined(values)
    values = formula_unescaped(values, joined)
    unstorable = _unstorable(values, field.label, joined)
    if not unstorable:
        return NORMALISERS[field.type](values, field, reading)
    values = list(values)
    for i, _ in unstorable:
        values[i] = None
    normalised, errors = NORMALISERS[field.type](values, field, reading)
    return normalised, sorted(unstorable + errors)
