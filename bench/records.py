"""The records pages at benchmark scale: how long a page, a search, a sort and a filter of
the benchmark organisation's mechanics take, and what the search indexes cost an import.

``measure(url, org)`` times ``bulkapp.records.query.read_page`` (the database's work and the
Python around it, not the template) for each view in ``VIEWS``: the median of ``REPEAT``
runs, after one run that warms the caches. On PostgreSQL it runs ANALYZE first, as
autovacuum would after an import that size; SQLite keeps no statistics unless asked, and is
measured without. ``drop_search_indexes(url)`` removes the records indexes, for the first
upload without them.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import func, select, text

REPEAT = 7
# (label, query-string arguments, pages to skip with the cursor first: "deep" pages start
# at the middle record of the sort instead)
VIEWS: list[tuple[str, dict[str, str], str]] = [
    ("first page, newest first", {}, ""),
    ("a page in the middle, newest first", {}, "middle"),
    ("sorted by lastName, first page", {"sort": "lastName"}, ""),
    ("sorted by lastName, a page in the middle", {"sort": "lastName"}, "middle"),
    ("sorted by email (Z-A), a page in the middle", {"sort": "-email"}, "middle"),
    ("search a first name's start: 'tha' (1 in 16)", {"q": "tha"}, ""),
    ("search 'tha', sorted by lastName", {"q": "tha", "sort": "lastName"}, ""),
    ("search two words: 'thandi nkosi' (1 in 256)", {"q": "thandi nkosi"}, ""),
    ("search a surname of words: 'van der mer'", {"q": "van der mer"}, ""),
    ("search an e-mail address", {"q": "EMAIL"}, ""),
    ("search a phone number: '082 123'", {"q": "082 123"}, ""),
    ("search that matches nothing: 'zzz'", {"q": "zzz"}, ""),
    ("filter province = Gauteng (no index)", {"province": "Gauteng"}, ""),
    ("filter city starts with 'kim' (no index)", {"city": "kim"}, ""),
    ("filter yearsExperience 40-45 (no index)", {"yearsExperienceFrom": "40"}, ""),
    ("search 'tha' + filter province = Limpopo", {"q": "tha", "province": "Limpopo"}, ""),
]


def _middle_cursor(view) -> str:
    """A cursor at the middle record of ``view``'s order (a page deep in the list)."""
    from bulkapp.extensions import db
    from bulkapp.records.fields import entity_table
    from bulkapp.records.query import encode_cursor

    table = entity_table(view.schema)
    key = view.sort_key.expression
    mine = table.c.organisation_id == view.organisation_id
    count = db.session.scalar(select(func.count()).select_from(table).where(mine))
    row = (
        db.session.execute(
            select(table.c.id, key.label("sort_value"))
            .where(mine)
            .order_by(key, table.c.id)
            .offset(count // 2)
            .limit(1)
        )
        .mappings()
        .one()
    )
    return encode_cursor(view, row)


def measure(url: str, org: str) -> dict:
    """Time each of ``VIEWS`` on organisation ``org``'s mechanics; milliseconds by label."""
    from bench.child import make_app
    from bulkapp.entities import get_entity
    from bulkapp.extensions import db
    from bulkapp.models import ENTITY_TABLES
    from bulkapp.people.organisations import find_organisation
    from bulkapp.records.query import read_page
    from bulkapp.records.view import parse_view

    app = make_app(url)
    schema = get_entity("mechanics")
    with app.app_context():
        organisation = find_organisation(org)
        assert organisation is not None
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        table = ENTITY_TABLES["mechanics"]
        some_email = db.session.scalar(
            select(table.c.email).where(table.c.organisation_id == organisation.id).limit(1)
        )
        records = db.session.scalar(
            select(func.count())
            .select_from(table)
            .where(table.c.organisation_id == organisation.id)
        )
        timings: dict[str, float] = {}
        shown: dict[str, str] = {}
        for label, args, start in VIEWS:
            args = {k: (some_email if v == "EMAIL" else v) for k, v in args.items()}
            view, errors = parse_view(schema, organisation.id, {k: [v] for k, v in args.items()})
            assert not errors, errors
            after = _middle_cursor(view) if start == "middle" else None
            runs = []
            for attempt in range(REPEAT + 1):
                started = time.perf_counter()
                page = read_page(view, after=after)
                if attempt:  # the first run only warms the caches
                    runs.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            timings[label] = statistics.median(runs)
            shown[label] = f"{len(page.rows)} rows" + (
                f", {page.total:,} match" if page.total is not None else ""
            )
    return {"records": records, "timings": timings, "shown": shown}


def drop_search_indexes(url: str) -> dict:
    """Remove the records pages' indexes from every entity table (for the first upload
    without them); the unique natural key stays."""
    from bench.child import make_app
    from bulkapp.extensions import db
    from bulkapp.models import ENTITY_TABLES

    app = make_app(url)
    dropped = []
    with app.app_context():
        for table in ENTITY_TABLES.values():
            for index in table.indexes:
                if index.name and (
                    "_search_" in index.name or index.name.endswith("_organisation_added")
                ):
                    db.session.execute(text(f"DROP INDEX {index.name}"))
                    dropped.append(index.name)
        db.session.commit()
    return {"dropped": dropped}


def print_table(results: dict[str, dict]) -> None:
    """The timings of each database side by side (``results``: database label → measure())."""
    if not results:
        return
    databases = list(results)
    first = results[databases[0]]
    print(
        f"Records pages at {first['records']:,} mechanics: one page (50 records) read by "
        f"bulkapp.records.query.read_page, median of {REPEAT} runs, ms (target ≤ 100)"
    )
    header = f"{'view':<48}" + "".join(f"{name:>12}" for name in databases) + "  result"
    print(header)
    print("-" * len(header))
    for label, _, _ in VIEWS:
        cells = "".join(f"{results[name]['timings'][label]:>12.1f}" for name in databases)
        print(f"{label:<48}{cells}  {first['shown'][label]}")
