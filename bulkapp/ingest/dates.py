"""Read a date written in one of the common formats users (and spreadsheets) produce."""

from __future__ import annotations

import re
from datetime import date

MIN_YEAR, MAX_YEAR = 1900, 2100

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
# (pattern, order of the year, month and day groups)
_NUMERIC_FORMATS = (
    (re.compile(rf"(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}"), "ymd"),  # ISO, Excel datetime
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), "ymd"),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), "dmy"),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), "dmy"),
)
_WORDS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]+)\.?,? (\d{4})")


def _iso(year: int, month: int, day: int) -> str | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date(value: str) -> str | None:
    """``value`` as ``YYYY-MM-DD``, or None when it is not a real date in a known format.

    Known formats: ``YYYY-MM-DD`` (with an optional time, as Excel exports it),
    ``YYYY/MM/DD``, ``DD/MM/YYYY``, ``DD-MM-YYYY`` and ``D Month YYYY`` (``1 Jan 2026``).
    """
    value = value.strip()
    for pattern, order in _NUMERIC_FORMATS:
        match = pattern.fullmatch(value)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            return _iso(parts["y"], parts["m"], parts["d"])
    match = _WORDS.fullmatch(value)
    if match:
        month = MONTHS.get(match.group(2).lower())
        return _iso(int(match.group(3)), month, int(match.group(1))) if month else None
    return None
