"""Helpers for the job system's tests: CSV files, uploads, and real worker processes."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.jobs.imports import start_import
from bulkapp.models import ENTITY_TABLES
from tests.conftest import fetch_job
from tests.processes import ManagedProcess, ProcessGroup

HEADER = "firstName,lastName,email,mobileNumber\n"


def mechanics_csv(rows: int) -> bytes:
    """A valid mechanics file with ``rows`` distinct rows."""
    body = "".join(f"First{i},Last{i},user{i}@example.com,082{i:07d}\n" for i in range(rows))
    return (HEADER + body).encode()


def upload(app, account, data: bytes, filename: str = "mechanics.csv") -> str:
    """Start an import as ``account``; returns the job id."""
    with app.app_context():
        job, _ = start_import(
            user=account.load(), entity_type="mechanics", stream=io.BytesIO(data), filename=filename
        )
        return job.id


fetch = fetch_job


def stored_emails(app) -> set[str]:
    """E-mails of every stored mechanic."""
    with app.app_context():
        return set(db.session.scalars(select(ENTITY_TABLES["mechanics"].c.email)))


def stored_count(app) -> int:
    """How many mechanics are stored."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ENTITY_TABLES["mechanics"]))


class Processes(ProcessGroup):
    """Real processes for one test, on ``app``'s database, Redis and instance folder."""

    def __init__(self, app, log_dir: Path) -> None:
        config = app.config
        env = {key: value for key, value in os.environ.items() if not key.startswith("BULKAPP")}
        env.update(
            {
                "BULKAPP_ENV": "testing",
                "INSTANCE_DIR": config["INSTANCE_DIR"],
                "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
                "REDIS_URL": config["REDIS_URL"],
                "FILE_STORE": config["FILE_STORE"],
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        super().__init__(env, log_dir)

    def worker(self, **settings: str) -> ManagedProcess:
        """Start ``python worker.py`` with these settings (environment variables)."""
        return self.start([sys.executable, "worker.py"], **settings)


@pytest.fixture
def processes(app, tmp_path):
    """Real processes for this test; all stopped (then killed) before the app is torn down."""
    started = Processes(app, tmp_path)
    yield started
    started.stop_all()
