"""Read a number as people write it, under both conventions of the decimal mark.

South Africans write ``1 234,50`` and ``R 450,00``; exports of other apps write ``1,234.50``
or ``1'234.50``. A value is read twice: once with ``.`` as the decimal mark (``,``, spaces and
``'`` then separate thousands) and once with ``,`` (``.``, spaces and ``'`` then separate
thousands). Most values read one way only, or the same both ways (``450``, ``1 250``); a value
like ``1,250`` reads as 1250 or as 1.25 and is *ambiguous*: only the rest of its column (or a
person) can say which was meant.

Also accepted: a currency (``R``, ``ZAR``) before or after the number, a leading ``+`` or
``-``, a trailing ``-`` and negatives in parentheses (as accounting exports write them), and
non-breaking or thin spaces between the thousands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .two_ways import TwoReadings

DECIMAL_POINT, DECIMAL_COMMA = "decimal_point", "decimal_comma"
NUMBER_FORMATS = (DECIMAL_POINT, DECIMAL_COMMA)
MARKS = {DECIMAL_POINT: ".", DECIMAL_COMMA: ","}

# Spaces people (and spreadsheets) put between thousands: plain, non-breaking, thin, narrow.
_SPACES = re.compile("[ \u00a0\u2009\u202f]+")
_APOSTROPHES = re.compile("[\u2019']")
_MINUS = "\u2212"  # the typographic minus sign
_NUMBER = re.compile(
    r"""
    (?P<open>\()?\s*
    (?P<lead>[+-])?\s*
    (?P<currency>R|ZAR)?\s*
    (?P<sign>[+-])?\s*
    (?P<body>[0-9.,][0-9.,' ]*?)
    (?P<exponent>[eE][+-]?[0-9]+)?\s*
    (?P<suffix>R|ZAR)?\s*
    (?P<trail>-)?\s*
    (?P<close>\))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")  # unambiguous and the most common by far
LONGEST_WRITTEN = 100  # longer values are read only when they are plain digits


@dataclass(frozen=True)
class NumberText(TwoReadings[Decimal]):
    """A value's readings: with a decimal point, with a decimal comma, and whether it is
    written in Excel's shortened exponent form (``1.2E+11``, read neither way)."""

    FORMATS = NUMBER_FORMATS

    shortened: bool = False

    @property
    def point(self) -> Decimal | None:
        return self.first

    @property
    def comma(self) -> Decimal | None:
        return self.second


NOT_A_NUMBER = NumberText(None, None)


def read_number(text: str) -> NumberText:
    """The readings of ``text`` (stripped or not)."""
    text = text.strip()
    if _PLAIN.fullmatch(text):
        value = Decimal(text)
        return NumberText(value, None if "." in text else value)
    if len(text) > LONGEST_WRITTEN:
        return _long_plain(text)
    text = _APOSTROPHES.sub("'", _SPACES.sub(" ", text.replace(_MINUS, "-")))
    match = _NUMBER.fullmatch(text)
    if match is None:
        return NOT_A_NUMBER
    parts = match.groupdict()
    body = parts["body"]
    signs = [parts[name] for name in ("lead", "sign", "trail") if parts[name]]
    parenthesised = bool(parts["open"]) + bool(parts["close"])
    if (
        (parts["currency"] and parts["suffix"])
        or len(signs) > 1
        or parenthesised == 1
        or (parenthesised and signs)
        or not body[-1:].isdigit()
        and body[-1:] != "."
    ):
        return NOT_A_NUMBER
    if parts["exponent"]:
        return NumberText(None, None, shortened=_reads(body, ".") is not None)
    negative = parenthesised == 2 or signs == ["-"]
    point, comma = _reads(body, "."), _reads(body, ",")
    return NumberText(
        None if point is None else _signed(point, negative),
        None if comma is None else _signed(comma, negative),
    )


def _long_plain(text: str) -> NumberText:
    """A very long value: read only when it is plain digits with at most one decimal point
    (a pattern over thousands of digits and separators is not worth it)."""
    body = text.lstrip("+-")
    negative = text.startswith("-")
    if len(text) - len(body) > 1 or not body.replace(".", "", 1).isdigit():
        return NOT_A_NUMBER
    value = _signed(Decimal(body), negative)
    return NumberText(value, None if "." in body else value)


def _reads(body: str, mark: str) -> Decimal | None:
    """``body`` read with ``mark`` as the decimal mark, or None when it is not written that
    way: thousands are groups of three digits after a first group of one to three, all
    separated by one kind of separator."""
    whole, found, fraction = body.partition(mark)
    if mark in fraction or not (whole or fraction) or not fraction.isdigit() and fraction:
        return None
    if found and not fraction and mark == ",":
        return None  # "12," is a cut-off value, not twelve
    separators = {c for c in whole if not c.isdigit()}
    if separators:
        if len(separators) > 1:
            return None
        groups = whole.split(separators.pop())
        lead, rest = groups[0], groups[1:]
        if not 1 <= len(lead) <= 3 or lead.startswith("0") or any(len(g) != 3 for g in rest):
            return None
        if not all(g.isdigit() for g in groups):
            return None
        whole = "".join(groups)
    try:
        return Decimal(f"{whole or '0'}.{fraction or '0'}")
    except InvalidOperation:
        return None


def _signed(value: Decimal, negative: bool) -> Decimal:
    return -value if negative else value


def plain(value: Decimal) -> str:
    """``value`` written plainly for a message: ``1250``, ``1.25``."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
