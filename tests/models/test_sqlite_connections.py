"""Every SQLite connection the application opens is tuned alike: a session may be handed any
pooled connection after each commit, so an import's chunks land on several of them."""

import pytest

from bulkapp.extensions import SQLITE_CACHE_KIB, SQLITE_CHECKPOINT_PAGES, db

EXPECTED = {
    "journal_mode": "wal",
    "synchronous": 1,  # NORMAL
    "cache_size": -SQLITE_CACHE_KIB,
    "wal_autocheckpoint": SQLITE_CHECKPOINT_PAGES,
    "foreign_keys": 1,
    "temp.cache_size": -SQLITE_CACHE_KIB,
    "temp.journal_mode": "memory",
}


def test_every_pooled_sqlite_connection_has_the_import_settings(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's connection settings")
    connections = [db.engine.raw_connection() for _ in range(3)]
    try:
        assert len({id(c.driver_connection) for c in connections}) == 3
        for connection in connections:
            cursor = connection.cursor()
            settings = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in EXPECTED}
            assert settings == EXPECTED
    finally:
        for connection in connections:
            connection.close()
