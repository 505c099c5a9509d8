"""Flask extensions, created without an app and bound in ``create_app``."""

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


class Base(DeclarativeBase):
    """Declarative base of every model. ``db.Model`` is built from it (same metadata and
    registry), but type checkers cannot see that generated class, so models subclass this."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Routes choose their own key (the API counts per user); the client address is the fallback.
limiter = Limiter(key_func=get_remote_address)

# Short timeouts: a dead Redis must not hang a web request for long.
REDIS_SOCKET_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """Let the web and the workers share one SQLite file: WAL and a busy timeout."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
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
