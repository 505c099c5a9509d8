"""The test processes' databases: SQLite files, or PostgreSQL databases named after the one in
TEST_DATABASE_URL, one per pytest-xdist worker, so that parallel workers (and engineers
running the suite side by side, each on their own database) never share tables.

A test process builds its schema once and empties the tables after each test; a test that
needs a database of its own (the migrations, the live stack) gets an empty one beside it.
"""

from __future__ import annotations

import os
from functools import cache

from sqlalchemy import Engine, MetaData, create_engine, make_url, text
from sqlalchemy.engine import URL

from bulkapp import models  # noqa: F401  (registers every table on db.metadata)
from bulkapp.config import normalise_database_url
from bulkapp.extensions import db

# A test that still holds a row lock when the tables are emptied fails the emptying rather
# than hanging the whole run.
EMPTYING_LOCK_TIMEOUT = "20s"


def postgres_url() -> URL | None:
    """TEST_DATABASE_URL (with the psycopg driver), or None to test on SQLite."""
    url = os.environ.get("TEST_DATABASE_URL")
    return make_url(normalise_database_url(url)) if url else None


def worker_name() -> str:
    """This pytest-xdist worker's name (``gw0``, ``gw1``, …), or "" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def database_name(suffix: str = "") -> str:
    """The PostgreSQL database of this test process: TEST_DATABASE_URL's own without xdist,
    ``<name>_<worker>`` under it; ``suffix`` names a further database beside it."""
    url = postgres_url()
    assert url is not None and url.database, "TEST_DATABASE_URL names no database"
    return "_".join(part for part in (url.database, worker_name(), suffix) if part)


def in_database(name: str) -> str:
    """TEST_DATABASE_URL pointed at the database ``name``, as a string with its password.

    Its connections commit without waiting for the disk (``synchronous_commit=off``: what a
    crash of the server could lose, a test database can): eight test runs' commits on one
    machine then stop queueing for the same disk flushes.
    """
    url = postgres_url()
    assert url is not None
    url = url.set(database=name)
    if "options" not in url.query:
        url = url.update_query_dict({"options": "-csynchronous_commit=off"})
    return url.render_as_string(hide_password=False)


def recreate_database(name: str) -> str:
    """Drop the PostgreSQL database ``name`` if it exists (a killed run may have left it,
    connections and all), create it empty and return its URL. The statements run in
    TEST_DATABASE_URL's own database: nothing outside the databases named after it is
    touched."""
    quoted = f'"{name}"'
    admin = create_engine(in_database(database_name_root()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()
    return in_database(name)


def drop_database(name: str) -> None:
    """Drop the PostgreSQL database ``name`` (and whatever is still connected to it)."""
    admin = create_engine(in_database(database_name_root()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_name_root() -> str:
    """The database named in TEST_DATABASE_URL."""
    url = postgres_url()
    assert url is not None and url.database
    return url.database


@cache
def worker_database_url() -> str:
    """This test process's PostgreSQL database with the models' tables, made on first use:
    TEST_DATABASE_URL's own without xdist (whatever an earlier run left there dropped first),
    else a new database of this xdist worker's own beside it."""
    if worker_name():
        url = recreate_database(database_name())
    else:
        url = in_database(database_name())
        drop_all_tables(url)
    engine = create_engine(url)
    try:
        db.metadata.create_all(engine)
    finally:
        engine.dispose()
    return url


def drop_all_tables(database_url: str) -> None:
    """Drop every table in the database, ``alembic_version`` included."""
    engine = create_engine(database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def empty_tables(engine: Engine, metadata: MetaData) -> None:
    """Delete every row a test left in ``metadata``'s tables, and start the ids at 1 again, as
    in a fresh schema (on PostgreSQL a DELETE and a ``setval`` of the sequences used cost a
    millisecond or two; a TRUNCATE, with its new files, ten times that)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL lock_timeout = '{EMPTYING_LOCK_TIMEOUT}'"))
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                    "FROM pg_sequences "
                    "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )
            )
        elif connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
        ).first():
            connection.execute(text("DELETE FROM sqlite_sequence"))  # AUTOINCREMENT tables
