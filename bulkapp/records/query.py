"""Reading a view's records a page at a time, and one record by its natural key.

Pages are keyset pages: a cursor holds the sort value and id of the row a page ended (or
started) at, and the next page starts right after it, so page 20,000 costs what page 1 does.

A page is read one of two ways, chosen per request, because neither database can guess how
many records a search matches (SQLite has no statistics on the search indexes; both plan a
statement before they see its parameters):

* **from the search index** when the most selective search word (or filter on a searched
  field) matches at most ``SELECTIVE_MATCHES`` records: their ids come from the index, the
  page is sorted from those (a few thousand rows at most);
* **along the sort's index** otherwise (and with no search): records are read in the page's
  order and the conditions checked on each until the page is full; since the matches are
  many, that is soon.

``probe_counts`` decides, counting each word's index entries up to the limit.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Row,
    RowMapping,
    Select,
    func,
    literal,
    select,
    tuple_,
    union,
    union_all,
)

from ..entities import EntitySchema
from ..extensions import db
from ..ingest.normalise import replace_unstorable
from ..models import is_storable_id
from . import RecordsError
from .fields import ADDED, entity_table
from .search import Driver, Prefix, drivers, filter_condition, search_rest
from .view import RecordView

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
SELECTIVE_MATCHES = 2000


@dataclass(frozen=True)
class Page:
    """A page of records, and the cursors of the pages beside it (None at either end)."""

    rows: list[RowMapping]
    next_cursor: str | None
    previous_cursor: str | None
    total: int | None = None  # how many records the view holds, when that was known cheaply


def encode_cursor(view: RecordView, row: RowMapping) -> str:
    """A cursor at ``row`` in ``view``'s order."""
    raw = json.dumps([view.sort.removeprefix("-"), row["sort_value"], row["id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(view: RecordView, cursor: str) -> tuple[Any, int]:
    """The (sort value, id) inside ``cursor``.

    Raises:
        RecordsError: 422, the cursor was not made for this view's sort.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort, value, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if sort != view.sort.removeprefix("-") or type(row_id) is not int:
            raise ValueError(sort)
        if type(value) is not (int if view.sort_key.name == ADDED else str):
            raise ValueError(value)
        if not is_storable_id(row_id) or value != _storable(value):
            raise ValueError(value)
        return value, row_id
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise RecordsError(
            "The cursor is not valid for this view: pass the nextCursor of the previous page "
            "with the same sort.",
            status=422,
            code="invalid_cursor",
        ) from None


def _storable(value: Any) -> Any:
    """``value`` as a database can take it: an id in range, text without NUL or surrogates."""
    if isinstance(value, int):
        return value if is_storable_id(value) else None
    return replace_unstorable(value)


def _index_entries(view: RecordView, prefix: Prefix) -> Select:
    """The ids in ``prefix``'s index range within the organisation, at most
    ``SELECTIVE_MATCHES`` + 1 of them. Ordered as the index is, so that the database reads
    the index rather than the table (PostgreSQL would scan the table for a prefix it expects
    many records to have)."""
    table = entity_table(view.schema)
    return (
        select(table.c.id)
        .where(table.c.organisation_id == view.organisation_id, prefix.indexed())
        .order_by(prefix.expression)
        .limit(SELECTIVE_MATCHES + 1)
    )


def probe_counts(view: RecordView, candidates: list[Driver]) -> list[int]:
    """How many index entries each driver has within the organisation, counted no further
    than ``SELECTIVE_MATCHES`` + 1 (one statement; a driver of many stops counting there)."""
    counts = []
    for driver in candidates:
        ranges = [_index_entries(view, prefix).subquery() for prefix in driver.prefixes]
        entries = union_all(*(select(entries.c.id) for entries in ranges))
        capped = entries.limit(SELECTIVE_MATCHES + 1).subquery()
        counts.append(select(func.count()).select_from(capped).scalar_subquery())
    return list(db.session.execute(select(*counts)).one()) if counts else []


def _selective(view: RecordView, candidates: list[Driver]) -> Driver | None:
    """The driver matching fewest records, if it matches few enough to read them all."""
    if not candidates:
        return None
    counts = probe_counts(view, candidates)
    fewest = min(range(len(candidates)), key=counts.__getitem__)
    return candidates[fewest] if counts[fewest] <= SELECTIVE_MATCHES else None


def _conditions(view: RecordView, candidates: list[Driver], chosen: Driver | None) -> list:
    """Everything ``view`` asks but its organisation and the ``chosen`` driver, in forms no
    index drives."""
    found: list[ColumnElement] = [d.checked() for d in candidates if d is not chosen]
    rest = search_rest(view)
    if rest is not None:
        found.append(rest)
    for condition in view.conditions:
        sql = filter_condition(view.schema, condition)
        if sql is not None:
            found.append(sql)
    return found


def _sorted(view: RecordView, query: Select, backwards: bool) -> Select:
    """``query`` in the page's order, the organisation leading as in every search index."""
    table = entity_table(view.schema)
    key = view.sort_key
    descending = view.descending != backwards
    columns = [table.c.organisation_id, key.expression]
    if not key.unique:
        columns.append(table.c.id)
    return query.order_by(*(c.desc() if descending else c.asc() for c in columns))


def _matching_ids(view: RecordView, chosen: Driver) -> CompoundSelect:
    """The ids of the records ``chosen`` matches, from its index ranges."""
    ranges = [_index_entries(view, prefix).subquery() for prefix in chosen.prefixes]
    return union(*(select(entries.c.id) for entries in ranges))


def _matches(view: RecordView, chosen: Driver, conditions: list) -> list[Row]:
    """The (id, sort_value) of every record of ``view`` (few: ``chosen`` is selective), in
    the view's order."""
    table = entity_table(view.schema)
    found = list(
        db.session.execute(
            select(table.c.id, view.sort_key.expression.label("sort_value")).where(
                table.c.id.in_(_matching_ids(view, chosen)),
                table.c.organisation_id == view.organisation_id,
                *conditions,
            )
        )
    )
    # Python compares text code point by code point: the byte order the indexes keep.
    found.sort(key=lambda match: (match.sort_value, match.id), reverse=view.descending)
    return found


def _page_of_matches(
    view: RecordView, matches: list[Row], cursor: str | None, backwards: bool, limit: int
) -> list[RowMapping]:
    """Up to ``limit`` records of ``matches`` after (``backwards``: before) ``cursor``."""
    if cursor is not None:
        position = decode_cursor(view, cursor)

        def first(a: tuple, b: tuple) -> bool:
            """Whether the position ``a`` comes before ``b`` in the view's order."""
            return a > b if view.descending else a < b

        if backwards:
            matches = [m for m in reversed(matches) if first((m.sort_value, m.id), position)]
        else:
            matches = [m for m in matches if first(position, (m.sort_value, m.id))]
    wanted = [m.id for m in matches[:limit]]
    table = entity_table(view.schema)
    rows = db.session.execute(
        select(table, view.sort_key.expression.label("sort_value")).where(table.c.id.in_(wanted))
    ).mappings()
    by_id = {row["id"]: row for row in rows}
    return [by_id[row_id] for row_id in wanted]


def _walk(
    view: RecordView, where: list, backwards: bool, limit: int, tie: bool = False
) -> list[RowMapping]:
    """Up to ``limit`` records matching ``where``, in the page's order (``tie``: records of
    one sort value, in the order of their ids, which is the page's order among them)."""
    table = entity_table(view.schema)
    query = select(table, view.sort_key.expression.label("sort_value")).where(*where)
    if tie:
        # SQLite sorts "organisation, value, id" again after an equality on the value; by
        # the id alone it reads the index in order.
        descending = view.descending != backwards
        query = query.order_by(table.c.id.desc() if descending else table.c.id.asc())
    else:
        query = _sorted(view, query, backwards)
    return list(db.session.execute(query.limit(limit)).mappings())


def _rows_along_sort(
    view: RecordView, conditions: list, cursor: str | None, backwards: bool, limit: int
) -> list[RowMapping]:
    """Up to ``limit`` records read along the sort's index from the cursor's position.

    PostgreSQL seeks to the position by comparing (organisation, sort value, id) as one row,
    and needs the organisation as a range (as ``= id`` it would drop it from the order and
    could walk the primary key for "newest first", crossing every newer record of the other
    organisations first). SQLite seeks by one range after its equalities only: it reads the
    rest of the cursor's tie (its sort value, the ids beyond), then the values beyond.
    """
    table, key = entity_table(view.schema), view.sort_key
    organisation = table.c.organisation_id
    mine = view.organisation_id
    on_postgresql = db.session.get_bind().dialect.name == "postgresql"
    if cursor is None:
        scope = organisation.between(mine, mine) if on_postgresql else organisation == mine
        return _walk(view, [scope, *conditions], backwards, limit)
    value, row_id = decode_cursor(view, cursor)
    upwards = view.descending == backwards

    def beyond(left: ColumnElement, right: Any) -> ColumnElement:
        return left > right if upwards else left < right

    if on_postgresql:
        columns, bound = [organisation, key.expression], [literal(mine), literal(value)]
        if not key.unique:
            columns.append(table.c.id)
            bound.append(literal(row_id))
        position = beyond(tuple_(*columns), tuple_(*bound))
        return _walk(
            view, [organisation.between(mine, mine), position, *conditions], backwards, limit
        )
    rows: list[RowMapping] = []
    if not key.unique:
        tie = [organisation == mine, key.expression == value, beyond(table.c.id, row_id)]
        rows = _walk(view, [*tie, *conditions], backwards, limit, tie=True)
    if len(rows) < limit:
        later = [organisation == mine, beyond(key.expression, value)]
        rows += _walk(view, [*later, *conditions], backwards, limit - len(rows))
    return rows


def read_page(
    view: RecordView,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """The ``limit`` records of ``view`` after the cursor ``after``, or just before the
    cursor ``before``, or the first ones.

    Raises:
        RecordsError: 422 for a cursor of another sort, or not a cursor.
    """
    backwards = before is not None
    cursor = before if backwards else after
    candidates = drivers(view)
    chosen = _selective(view, candidates)
    conditions = _conditions(view, candidates, chosen)
    total = None
    if chosen is not None:
        matches = _matches(view, chosen, conditions)
        total = len(matches)
        rows = _page_of_matches(view, matches, cursor, backwards, limit + 1)
    else:
        rows = _rows_along_sort(view, conditions, cursor, backwards, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    if not rows:
        return Page([], None, None, total)
    has_next = True if backwards else more
    has_previous = more if backwards else cursor is not None
    return Page(
        rows,
        encode_cursor(view, rows[-1]) if has_next else None,
        encode_cursor(view, rows[0]) if has_previous else None,
        total,
    )


def iter_records(view: RecordView, batch: int = 2000) -> Iterator[RowMapping]:
    """Every record of ``view``, in its order, read ``batch`` rows at a time."""
    after = None
    while True:
        page = read_page(view, after=after, limit=batch)
        yield from page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor


def count_up_to(view: RecordView, cap: int) -> int:
    """How many records ``view`` holds, counting no further than ``cap`` + 1."""
    table = entity_table(view.schema)
    candidates = drivers(view)
    chosen = _selective(view, candidates)
    conditions = _conditions(view, candidates, chosen)
    conditions.append(table.c.organisation_id == view.organisation_id)
    if chosen is not None:
        conditions.append(table.c.id.in_(_matching_ids(view, chosen)))
    limited = select(table.c.id).where(*conditions).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(limited)) or 0


def key_value(schema: EntitySchema, key: str) -> str:
    """A natural key from a URL as it is stored: e-mail addresses in lower case, ID numbers
    without spaces or dashes."""
    (name,) = schema.natural_key
    key_type = schema.field(name).type
    if key_type == "email":
        return key.strip().lower()
    if key_type == "sa_id":
        return key.strip().replace(" ", "").replace("-", "")
    return key.strip()


def find_record(schema: EntitySchema, organisation_id: int, key: str) -> RowMapping | None:
    """The record of ``organisation_id`` whose natural key is ``key``, if there is one."""
    table = entity_table(schema)
    (name,) = schema.natural_key
    query = select(table).where(
        table.c.organisation_id == organisation_id,
        table.c[name] == replace_unstorable(key_value(schema, key)),
    )
    return db.session.execute(query).mappings().first()


def record_key(schema: EntitySchema, row: RowMapping) -> str:
    """The natural key of ``row`` as text (for links)."""
    return " ".join(str(row[name]) for name in schema.natural_key)
