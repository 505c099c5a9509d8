"""Flask extensions, created without an app and bound in ``core.core_app``."""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from .unit_of_work import UnitOfWorkSession


class Base(DeclarativeBase):
    """Declarative base of every model. ``db.Model`` is built from it (same metadata and
    registry), but type checkers cannot see that generated class, so models subclass this."""


# Its sessions run the effects registered with unit_of_work.after_commit after each commit.
db = SQLAlchemy(model_class=Base, session_options={"class_": UnitOfWorkSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Routes choose their own key (the API counts per user); the client address is the fallback.
limiter = Limiter(key_func=get_remote_address)

# Short timeouts: a dead Redis must not hang a web request for long.
REDIS_SOCKET_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}


SQLITE_CACHE_KIB = 32 * 1024
SQLITE_CHECKPOINT_PAGES = 10_000  # of 4 KiB


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """Let the web and the workers share one SQLite file, and keep imports fast.

    Every connection gets the same settings, because a session may be handed any pooled
    connection after each commit: WAL and a busy timeout; ``synchronous=NORMAL`` (no fsync at
    each commit: WAL stays consistent, and a power cut can lose only the last commits, an
    import's with their checkpoint, so it resumes before them); a 32 MiB page cache, which
    keeps an import's unique-key index in memory; and the write-ahead log copied back into
    the database every ~40 MB rather than 4 MB, so the index pages each chunk rewrites are
    copied once per several chunks, whichever connection commits. Temporary tables (where an
    import stages each chunk, and the review's dry run the rows it compares) get a page cache
    of the same size and a rollback journal in memory: a chunk's staging table then never
    touches the disk (with the defaults each 20,000-row chunk wrote ~2,000 pages to temporary
    files), while larger temporary data (a big sort) may still spill to a file.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA temp.cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA temp.journal_mode=MEMORY")
        cursor.close()


def redis_from_url(url: str) -> Redis:
    """A Redis client with the application's timeouts (also used outside Flask)."""
    return Redis.from_url(url, **REDIS_SOCKET_TIMEOUTS)


def init_redis(app: Flask) -> None:
    """Attach one Redis client to ``app``."""
    app.extensions["redis"] = redis_from_url(app.config["REDIS_URL"])


def get_redis() -> Redis:
    """The current application's Redis client."""
    return current_app.extensions["redis"]


def limiter_storage_uri(redis_url: str) -> str:
    """The rate limiter's storage URI for ``redis_url`` (it spells sockets ``redis+unix://``)."""
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def init_limiter(app: Flask) -> None:
    """Bind the rate limiter to ``app``, counting in the application's Redis."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_SOCKET_TIMEOUTS))
    limiter.init_app(app)
