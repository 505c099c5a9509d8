"""Read a date written in one of the common formats users (and spreadsheets) produce.

``03/04/2026`` is the 3rd of April written day first (as South Africans write it) and the 4th
of March written month first (as exports of American apps do): such a value is read under
both orders, and the column as a whole decides (``bulkapp.ingest.readings``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .two_ways import TwoReadings

MIN_YEAR, MAX_YEAR = 1900, 2100
DAY_FIRST, MONTH_FIRST = "day_first", "month_first"
DATE_ORDERS = (DAY_FIRST, MONTH_FIRST)

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan", "januarie"),
            ("february", "feb", "februarie"),
            ("march", "mar", "maart", "mrt"),
            ("april", "apr"),
            ("may", "mei"),
            ("june", "jun", "junie"),
            ("july", "jul", "julie"),
            ("august", "aug", "augustus"),
            ("september", "sep", "sept"),
            ("october", "oct", "oktober", "okt"),
            ("november", "nov"),
            ("december", "dec", "desember", "des"),
        ),
        start=1,
    )
    for name in names
}

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
# Year first: one reading (pattern, order of the year, month and day groups).
_YEAR_FIRST = (
    (re.compile(rf"(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}"), "ymd"),  # ISO, Excel datetime
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), "ymd"),
)
# Year last with slashes or dashes: day first or month first. With dots: day first only.
_YEAR_LAST = re.compile(r"(\d{1,2})([/-])(\d{1,2})\2(\d{4})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]+)\.?,?[ -](\d{4})")
_MONTH_DAY = re.compile(r"([A-Za-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})")


@dataclass(frozen=True)
class DateText(TwoReadings[str]):
    """A value's readings as ``YYYY-MM-DD``: day first and month first. A value that is not
    written with its day and month as bare numbers reads the same both ways."""

    FORMATS = DATE_ORDERS

    @property
    def day_first(self) -> str | None:
        return self.first

    @property
    def month_first(self) -> str | None:
        return self.second


def iso_date(text: str) -> str | None:
    """``YYYY-MM-DD`` as it is when it is a real date in the years accepted, else None."""
    return _iso(int(text[:4]), int(text[5:7]), int(text[8:10]))


def _iso(year: int, month: int, day: int) -> str | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def read_date(value: str) -> DateText:
    """The readings of ``value`` (stripped or not).

    Known formats: ``YYYY-MM-DD`` (with an optional time, as Excel exports it),
    ``YYYY/MM/DD``, ``DD/MM/YYYY`` or ``MM/DD/YYYY`` (also with dashes), ``DD.MM.YYYY``,
    ``D Month YYYY`` (``1 Jan 2026``, ``1-Jan-2026``, Afrikaans months too) and
    ``Month D, YYYY`` (``Jan 1, 2026``).
    """
    value = value.strip()
    for pattern, order in _YEAR_FIRST:
        match = pattern.fullmatch(value)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            return _same(_iso(parts["y"], parts["m"], parts["d"]))
    match = _YEAR_LAST.fullmatch(value)
    if match:
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        return DateText(_iso(year, second, first), _iso(year, first, second))
    match = _DOTTED.fullmatch(value)
    if match:
        day, month, year = map(int, match.groups())
        return DateText(_iso(year, month, day), None)
    match = _DAY_MONTH.fullmatch(value)
    if match:
        return _same(_named_month(match.group(3), match.group(2), match.group(1)))
    match = _MONTH_DAY.fullmatch(value)
    if match:
        return _same(_named_month(match.group(3), match.group(1), match.group(2)))
    return _same(None)


def _named_month(year: str, month_name: str, day: str) -> str | None:
    month = MONTHS.get(month_name.lower())
    return _iso(int(year), month, int(day)) if month else None


def _same(iso: str | None) -> DateText:
    return DateText(iso, iso)


def parse_date(value: str) -> str | None:
    """``value`` as ``YYYY-MM-DD`` written day first where the order matters, or None when
    it is not a real date in a known format."""
    return read_date(value).read(DAY_FIRST)
