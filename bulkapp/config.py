"""Configuration read from the environment, in one place, parsed to types.

Every setting the application reads is listed here and in the README. Production is the
default environment: it refuses to start without a ``SECRET_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from limits import parse_many

ENVIRONMENTS = ("production", "development", "testing")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_MAX_CONTENT_LENGTH = 50 * 1024 * 1024
DEFAULT_API_UPLOAD_RATE_LIMIT = "60 per minute"
DEFAULT_LOGIN_RATE_LIMIT_ACCOUNT = "10 per 15 minutes"
DEFAULT_LOGIN_RATE_LIMIT_ADDRESS = "50 per 15 minutes"
# How passwords are hashed (werkzeug's method names): scrypt, and not a setting of the
# environment; the test configuration's one round of PBKDF2 makes its thousand accounts cheap.
PASSWORD_HASH_METHOD = "scrypt"
TEST_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
FILE_STORES = ("local", "database")  # the first is the default


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable configuration."""


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _rate_limit(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = (environ.get(name) or "").strip() or default
    try:
        parse_many(raw)
    except ValueError as exc:
        raise ConfigError(
            f"{name} must be a rate such as '60 per minute' or '10/second;500/hour', got {raw!r}"
        ) from exc
    return raw


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (environ.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def redis_url_for_tls(url: str, verify: bool) -> str:
    """``url`` with certificate checks turned off when ``verify`` is false and it is a TLS
    (``rediss://``) URL: Heroku Data for Redis presents a self-signed certificate. Every
    client built from the URL (web, rate limiter, workers, cron, rq-dashboard) then follows."""
    if verify or not url.startswith("rediss://") or "ssl_cert_reqs=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}ssl_cert_reqs=none"


def normalise_database_url(url: str) -> str:
    """Accept Heroku's ``postgres://`` scheme and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration mapping from ``environ`` (default ``os.environ``).

    Raises:
        ConfigError: a value is malformed, or ``SECRET_KEY`` is missing in production.
    """
    environ = os.environ if environ is None else environ
    env = environ.get("BULKAPP_ENV", "production").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"BULKAPP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")

    secret_key = environ.get("SECRET_KEY", "")
    if not secret_key:
        if env == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set BULKAPP_ENV=development for local work."
            )
        secret_key = f"insecure-{env}-key"

    instance_dir = Path(environ.get("INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)
    database_url = environ.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'bulkapp.db'}"
    redis_url = redis_url_for_tls(
        environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        _bool(environ, "REDIS_TLS_VERIFY", True),
    )
    production = env == "production"

    return {
        "BULKAPP_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": secret_key,
        "INSTANCE_DIR": str(instance_dir),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        # Where uploads and error reports are kept: "local" (the folders below) or "database".
        "FILE_STORE": _choice(environ, "FILE_STORE", FILE_STORES),
        "UPLOAD_DIR": environ.get("UPLOAD_DIR") or str(instance_dir / "uploads"),
        "REPORT_DIR": environ.get("REPORT_DIR") or str(instance_dir / "reports"),
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        "IMPORT_CHUNK_ROWS": _int(environ, "IMPORT_CHUNK_ROWS", 20000),
        "SESSION_COOKIE_SECURE": _bool(environ, "SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(environ, "SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO").upper(),
        # Job creation through the API, per user (Flask-Limiter counts in Redis).
        "API_UPLOAD_RATE_LIMIT": _rate_limit(
            environ, "API_UPLOAD_RATE_LIMIT", DEFAULT_API_UPLOAD_RATE_LIMIT
        ),
        "RATELIMIT_ENABLED": _bool(environ, "RATELIMIT_ENABLED", True),
        # Redis down: count in memory for a while rather than refuse uploads.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        **lifecycle_settings(environ, instance_dir),
        **people_settings(environ),
    }


def people_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Sign-in, passwords, invitations and the audit log."""
    return {
        # Failed sign-ins counted per account and per client address (Flask-Limiter on Redis).
        "LOGIN_RATE_LIMIT_ACCOUNT": _rate_limit(
            environ, "LOGIN_RATE_LIMIT_ACCOUNT", DEFAULT_LOGIN_RATE_LIMIT_ACCOUNT
        ),
        "LOGIN_RATE_LIMIT_ADDRESS": _rate_limit(
            environ, "LOGIN_RATE_LIMIT_ADDRESS", DEFAULT_LOGIN_RATE_LIMIT_ADDRESS
        ),
        # How many proxies in front of the app set X-Forwarded-For (Heroku: 1; none: 0).
        "PROXY_FIX_X_FOR": _int(environ, "PROXY_FIX_X_FOR", 0),
        "PASSWORD_MIN_LENGTH": _int(environ, "PASSWORD_MIN_LENGTH", 10),
        "PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
        "PASSWORD_RESET_MAX_AGE": _int(environ, "PASSWORD_RESET_MAX_AGE", 3600),
        "INVITATION_MAX_AGE": _int(environ, "INVITATION_MAX_AGE", 7 * 24 * 3600),
        "AUDIT_RETENTION_DAYS": _int(environ, "AUDIT_RETENTION_DAYS", 365),
    }


def _int_list(environ: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise ConfigError(f"{name} must be whole seconds separated by commas, got {raw!r}") from exc


def _int_mapping(environ: Mapping[str, str], name: str) -> dict[str, int]:
    raw = (environ.get(name) or "").replace(" ", "")
    try:
        return {
            key: int(value)
            for key, value in (pair.split("=", 1) for pair in raw.split(",") if pair)
        }
    except ValueError as exc:
        raise ConfigError(
            f"{name} must look like 'members=1800,policies=900', got {raw!r}"
        ) from exc


def lifecycle_settings(environ: Mapping[str, str], instance_dir: Path) -> dict[str, Any]:
    """Job lifecycle: RQ job defaults, workers, maintenance and notifications."""
    return {
        # Seconds one import attempt may run, and per-entity overrides ("members=1800").
        "IMPORT_JOB_TIMEOUT": _int(environ, "IMPORT_JOB_TIMEOUT", 600),
        "IMPORT_JOB_TIMEOUTS": _int_mapping(environ, "IMPORT_JOB_TIMEOUTS"),
        # One retry per interval (seconds): 3 retries, backing off.
        "IMPORT_RETRY_INTERVALS": _int_list(environ, "IMPORT_RETRY_INTERVALS", (10, 20, 40)),
        "IMPORT_RESULT_TTL": _int(environ, "IMPORT_RESULT_TTL", 3600),
        "IMPORT_FAILURE_TTL": _int(environ, "IMPORT_FAILURE_TTL", 86400),
        "KEEP_COMPLETED_JOBS": _int(environ, "KEEP_COMPLETED_JOBS", 100),
        "KEEP_FAILED_JOBS": _int(environ, "KEEP_FAILED_JOBS", 1000),
        # The nightly clean-up deletes files and reports of jobs finished this long ago.
        "JOB_RETENTION_HOURS": _int(environ, "JOB_RETENTION_HOURS", 168),
        # The monitor's hourly metrics history is kept this long.
        "METRICS_RETENTION_DAYS": _int(environ, "METRICS_RETENTION_DAYS", 90),
        # Queued jobs younger than this are left to the web process that is enqueueing them.
        "SWEEP_GRACE_SECONDS": _int(environ, "SWEEP_GRACE_SECONDS", 15),
        # A records export of at most this many rows is streamed; a larger one is a queued job.
        "EXPORT_STREAM_MAX_ROWS": _int(environ, "EXPORT_STREAM_MAX_ROWS", 10_000),
        # Seconds one attempt at writing a queued export may run.
        "EXPORT_JOB_TIMEOUT": _int(environ, "EXPORT_JOB_TIMEOUT", 1800),
        # A bulk fix of at most this many rows is made in the web request; a larger one is
        # a queued job that the fix page follows.
        "BULK_FIX_SYNC_MAX_ROWS": _int(environ, "BULK_FIX_SYNC_MAX_ROWS", 2000),
        # Rows a queued bulk fix changes and commits together.
        "BULK_FIX_BATCH_ROWS": _int(environ, "BULK_FIX_BATCH_ROWS", 1000),
        # A file waiting for its review this long is discarded, its upload removed.
        "REVIEW_EXPIRY_HOURS": _int(environ, "REVIEW_EXPIRY_HOURS", 72),
        "WORKER_CONCURRENCY": _int(environ, "WORKER_CONCURRENCY", 1),
        "WORKER_MAINTENANCE_INTERVAL": _int(environ, "WORKER_MAINTENANCE_INTERVAL", 5),
        # Every Nth job a worker takes from the lowest-priority waiting tier first.
        "WORKER_LOW_PRIORITY_EVERY": _int(environ, "WORKER_LOW_PRIORITY_EVERY", 5),
        "SMTP_HOST": environ.get("SMTP_HOST", ""),
        "SMTP_PORT": _int(environ, "SMTP_PORT", 587),
        "SMTP_USER": environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(environ, "SMTP_STARTTLS", True),
        "MAIL_FROM": environ.get("MAIL_FROM") or "bulkapp@localhost",
        # Seconds before each retry of an invitation or reset the mail server did not take.
        "MAIL_RETRY_INTERVALS": _int_list(environ, "MAIL_RETRY_INTERVALS", (10, 30, 60, 300, 900)),
        "OUTBOX_DIR": environ.get("OUTBOX_DIR") or str(instance_dir / "outbox"),
        # Links in e-mails point here, e.g. https://bulk.example.org
        "PUBLIC_URL": (environ.get("PUBLIC_URL") or "").rstrip("/"),
        "WEBHOOK_RETRY_INTERVALS": _int_list(environ, "WEBHOOK_RETRY_INTERVALS", (10, 60, 300)),
        "WEBHOOK_TIMEOUT": _int(environ, "WEBHOOK_TIMEOUT", 10),
    }


def test_config(tmp_dir: Path, **overrides: Any) -> dict[str, Any]:
    """Configuration for the test suite: everything under ``tmp_dir`` unless overridden."""
    environ = {
        "BULKAPP_ENV": "testing",
        "INSTANCE_DIR": str(tmp_dir),
        "DATABASE_URL": f"sqlite:///{tmp_dir / 'test.db'}",
    }
    config = load_config(environ)
    config["PASSWORD_HASH_METHOD"] = TEST_PASSWORD_HASH_METHOD
    config.update(overrides)
    return config


test_config.__dict__["__test__"] = False  # not a pytest test despite its name
