"""Normalise and validate one column of a chunk at a time, by field type.

Every function takes the column's raw cells (``str`` or ``None``) and returns the normalised
values (``None`` where empty or invalid) and the errors as ``(position, message)`` pairs. The
common case (every cell already clean) takes one pass in C where possible; only odd cells go
through the slower per-value path. Whatever the type, a cell holding a character that no
database can store (NUL, or half of a UTF-16 surrogate pair) is rejected first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import cast

import numpy as np
import pandas as pd

from ..entities import Field, header_key
from .dates import parse_date
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

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_EMAIL_LINES = re.compile(rf"^{_EMAIL.pattern}$", re.MULTILINE)  # no class matches a newline
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"\+?[0-9]+")
_PLAIN_PHONE = re.compile(rf"[0-9]{{{PHONE_MIN_DIGITS},{PHONE_MAX_DIGITS}}}")
_INTEGER_TEXT = re.compile(r"([+-]?)([0-9]+)(?:\.0*)?")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_NUMBER_NOISE = re.compile(r"[\s,_]")
# PostgreSQL text cannot hold NUL; UTF-8 (SQLite, PostgreSQL, the error report) cannot encode
# a lone surrogate, which JSON's "\ud800" escape produces.
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


def _unstorable(values: Sequence[str | None], label: str) -> Errors:
    """An error for every cell holding a character that cannot be stored.

    A clean column costs one join and two scans in C; only a column that has such a character
    is searched cell by cell.
    """
    try:
        # Assume every cell is present: the common case, one join in C; a None raises.
        joined = "".join(cast(Sequence[str], values))
    except TypeError:  # the column has empty cells (None): join the others
        joined = "".join(filter(None, values))
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


def _reject(values: list, positions: list[int], message: str) -> Errors:
    for i in positions:
        values[i] = None
    return [(i, message) for i in positions]


def _by_unique(
    values: Sequence[str | None], convert: Callable[[str], object], message: Callable[[str], str]
) -> Result:
    """Trim and ``convert`` each distinct value once, then spread the results.

    Most columns repeat their values (cities, provinces, dates, names), so this costs one
    hash per cell and one Python call per distinct value. ``convert`` receives non-empty
    trimmed text and returns the normalised value, or None when the value is invalid.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    converted: list = []
    bad: list[int] = []
    for code, raw in enumerate(uniques.tolist()):
        text = raw.strip()
        value = convert(text) if text else None
        if text and value is None:
            bad.append(code)
        converted.append(value)
    lookup = np.asarray(converted + [None], dtype=object)
    normalised = lookup[codes].tolist()  # code -1 (an empty cell) picks the trailing None
    if not bad:
        return normalised, []
    messages = {code: message(uniques[code]) for code in bad}
    positions = np.flatnonzero(np.isin(codes, bad)).tolist()
    return normalised, [(i, messages[codes[i]]) for i in positions]


def text(values: Sequence[str | None], field: Field) -> Result:
    """Trimmed text within ``max_length``."""
    limit = field.max_length
    return _by_unique(
        values,
        lambda v: v if len(v) <= limit else None,
        lambda v: f"{field.label} is longer than {limit} characters.",
    )


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


def email(values: Sequence[str | None], field: Field) -> Result:
    """Trimmed, lower-cased e-mail addresses of a plausible shape."""
    out = [v.lower() if v is not None else None for v in values]
    if _all_emails(_present(out)):
        return out, []
    bad = []
    for i, value in enumerate(out):
        if value is None or (_EMAIL.fullmatch(value) and len(value) <= EMAIL_MAX_LENGTH):
            continue
        out[i] = _clean_email(value) if value.strip() else None
        if out[i] is None and value.strip():
            bad.append(i)
    return out, _reject(out, bad, f"{field.label} is not a valid e-mail address.")


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


def phone(values: Sequence[str | None], field: Field) -> Result:
    """Phone numbers as digits (a leading ``+`` kept), 9 to 15 digits long."""
    out = list(values)
    if _all_plain_phones(_present(out)):
        return out, []
    bad = []
    for i, value in enumerate(out):
        if value is None or _PLAIN_PHONE.fullmatch(value):
            continue
        trimmed = value.strip()
        out[i] = _phone_digits(trimmed) if trimmed else None
        if trimmed and out[i] is None:
            bad.append(i)
    message = (
        f"{field.label} must be a phone number of {PHONE_MIN_DIGITS} to "
        f"{PHONE_MAX_DIGITS} digits (spaces, dashes and a leading + are fine)."
    )
    return out, _reject(out, bad, message)


def _integer(value: str) -> int | float | None:
    """The whole number ``value`` writes, or None; too many digits for any column: ±inf."""
    match = _INTEGER_TEXT.fullmatch(_NUMBER_NOISE.sub("", value))
    if match is None:
        return None
    sign, digits = match.groups()
    digits = digits.lstrip("0") or "0"
    if len(digits) > INTEGER_MAX_DIGITS:
        return float(sign + "inf")
    return int(sign + digits)


def integer(values: Sequence[str | None], field: Field) -> Result:
    """Whole numbers (``12`` or ``12.0``) within the field's bounds and an Integer column's."""
    low = -INTEGER_LIMIT if field.min_value is None else max(int(field.min_value), -INTEGER_LIMIT)
    high = INTEGER_LIMIT if field.max_value is None else min(int(field.max_value), INTEGER_LIMIT)

    def convert(value: str) -> int | None:
        number = _integer(value)
        # A float here is ±inf (too many digits), which no bound admits.
        return number if isinstance(number, int) and low <= number <= high else None

    def message(value: str) -> str:
        if _integer(value.strip()) is None:
            return f"{field.label} must be a whole number."
        return f"{field.label} must be between {low:,} and {high:,}."

    return _by_unique(values, convert, message)


def _decimal_bounds(field: Field) -> tuple[Decimal, Decimal]:
    """The field's bounds, within what a Numeric(14, 2) column holds."""
    low = -DECIMAL_LIMIT if field.min_value is None else Decimal(str(field.min_value))
    high = DECIMAL_LIMIT if field.max_value is None else Decimal(str(field.max_value))
    return max(low, -DECIMAL_LIMIT), min(high, DECIMAL_LIMIT)


def _decimal(value: str, low: Decimal, high: Decimal) -> str | None:
    value = _NUMBER_NOISE.sub("", value)
    if _DECIMAL_TEXT.fullmatch(value) is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    # The range first: quantize() fails on numbers of more than 28 digits.
    if not low <= number <= high or number != number.quantize(CENT):
        return None
    return f"{abs(number) if number.is_zero() else number:.2f}"  # no "-0.00"


def decimal(values: Sequence[str | None], field: Field) -> Result:
    """Amounts with at most two decimal places within the field's bounds, as text."""
    low, high = _decimal_bounds(field)
    bounds = f" from {low:,} up to {high:,}"
    return _by_unique(
        values,
        lambda v: _decimal(v, low, high),
        lambda v: (
            f"{field.label} must be a number with at most two decimals{bounds}; got {_quoted(v)}."
        ),
    )


def enum(values: Sequence[str | None], field: Field) -> Result:
    """One of the field's choices or their synonyms, matched ignoring case, accents, spaces,
    ``_``, ``-`` and ``.``."""
    canonical = field.value_lookup
    allowed = ", ".join(field.choices)
    return _by_unique(
        values,
        lambda v: canonical.get(header_key(v)),
        lambda v: f"{field.label} {_quoted(v)} is not one of: {allowed}.",
    )


def date(values: Sequence[str | None], field: Field) -> Result:
    """Dates in common formats, as ISO ``YYYY-MM-DD`` text."""
    return _by_unique(
        values,
        parse_date,
        lambda v: (
            f"{field.label} {_quoted(v)} is not a date; use YYYY-MM-DD "
            "(e.g. 2026-01-31) or DD/MM/YYYY."
        ),
    )


def sa_id(values: Sequence[str | None], field: Field) -> Result:
    """South African ID numbers: 13 digits, a real date of birth, a valid checksum."""
    out = [
        (v.strip().replace(" ", "").replace("-", "") or None) if v is not None else None
        for v in values
    ]
    errors = sa_id_errors(out, field.label)
    for i, _ in errors:
        out[i] = None
    return out, errors


NORMALISERS: dict[str, Callable[[Sequence[str | None], Field], Result]] = {
    "string": text,
    "email": email,
    "phone": phone,
    "date": date,
    "integer": integer,
    "decimal": decimal,
    "enum": enum,
    "sa_id": sa_id,
}


def normalise_column(values: Sequence[str | None], field: Field) -> Result:
    """Normalise and validate one column of ``field``'s type.

    A cell holding a character that cannot be stored is rejected with its own message; the
    type's rules judge the other cells.
    """
    unstorable = _unstorable(values, field.label)
    if not unstorable:
        return NORMALISERS[field.type](values, field)
    values = list(values)
    for i, _ in unstorable:
        values[i] = None
    normalised, errors = NORMALISERS[field.type](values, field)
    return normalised, sorted(unstorable + errors)
