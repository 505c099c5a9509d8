"""The server-paged grid's columns and pager (``templates/_grid.html``), shared by the pages
that show rows a page at a time: records, and rejected rows to fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

SortDirection = Literal["asc", "desc"]


@dataclass(frozen=True)
class GridColumn:
    """A column: ``name`` picks the cell's value, ``label`` heads it; a sortable column has
    ``sort_url`` (the page sorted by it) and ``sorted`` when the page is sorted by it."""

    name: str
    label: str
    sort_url: str | None = None
    sorted: SortDirection | None = None
    numeric: bool = False


@dataclass(frozen=True)
class GridPager:
    """Links to the pages beside this one (None at an end) and what this one shows."""

    summary: str
    previous_url: str | None = None
    next_url: str | None = None
    first_url: str | None = None


def sortable_columns(
    columns: Sequence[tuple[str, str, bool, str | None]],
    sort: str,
    sort_url: Callable[[str], str],
) -> list[GridColumn]:
    """Columns (name, label, numeric, the sort key that orders by it or None) of a grid
    sorted by ``sort`` (a sort key, ``-`` before it for descending). A sortable column links
    to the page sorted by it (``sort_url(key)``), or in reverse when sorted by it already."""
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    found = []
    for name, label, numeric, key in columns:
        direction: SortDirection | None = None
        if key is not None and key == current:
            direction = "desc" if descending else "asc"
        link = sort_url(f"-{key}" if direction == "asc" else key) if key is not None else None
        found.append(GridColumn(name, label, link, direction, numeric))
    return found


def keyset_pager(
    summary: str,
    url: Callable[..., str],
    next_cursor: str | None,
    previous_cursor: str | None,
) -> GridPager:
    """A pager over keyset cursors: ``url(after=…)``, ``url(before=…)`` and ``url()`` for
    the first page."""
    return GridPager(
        summary=summary,
        previous_url=url(before=previous_cursor) if previous_cursor else None,
        next_url=url(after=next_cursor) if next_cursor else None,
        first_url=url() if previous_cursor else None,
    )
