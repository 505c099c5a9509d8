"""Fixtures: a real redis-server for the session, the app on SQLite (or TEST_DATABASE_URL),
users in two organisations, a signed-in client and a burst worker. The live stack shared by
the end-to-end tests comes from tests/e2e/harness.py."""

from __future__ import annotations

import copy
import io
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import SimpleWorker

from bulkapp import create_app
from bulkapp.config import test_config
from bulkapp.devtools import redis_server_args
from bulkapp.extensions import db, get_redis, init_limiter
from bulkapp.jobs.queues import get_queue, worker_queue_names
from bulkapp.people.organisations import create_organisation, find_organisation
from bulkapp.people.users import create_user
from bulkapp.storage import REPORTS, store_holding
from tests.databases import (
    database_name,
    drop_database,
    empty_tables,
    postgres_url,
    worker_database_url,
    worker_name,
)
from tests.processes import ProcessGroup

pytest_plugins = ["tests.e2e.harness"]

PASSWORD = "correct-horse-battery"
DATA_DIR = Path(__file__).parent / "data"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RedisServer:
    """A redis-server process started for the tests."""

    port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, appendonly: bool = False) -> None:
        """Start (or restart) the server and wait until it answers.

        With ``appendonly`` every write reaches the append-only file before it is answered,
        so a server killed with SIGKILL comes back with everything it acknowledged.
        """
        args = redis_server_args(data_dir=self.data_dir, port=self.port, appendonly=appendonly)
        if appendonly:
            args += ["--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (SIGTERM: it writes its append-only file and exits)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Kill the server outright (SIGKILL), as a crash or a lost machine would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


# A test using one of these starts real processes (workers, cron, gunicorn, a browser): it is
# marked ``e2e`` without having to say so.
REAL_PROCESS_FIXTURES = frozenset({"processes", "live_stack", "browser", "page", "e2e_env"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a real-process fixture ``e2e``."""
    for item in items:
        if REAL_PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed test, add the log tails of the real processes it ran to its report."""
    report = yield
    if report.when == "call" and report.failed:
        groups = {
            id(value): value for value in item.funcargs.values() if isinstance(value, ProcessGroup)
        }
        for group in groups.values():
            report.sections.extend(group.log_tails())
    return report


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(port=free_port(), data_dir=tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def database_url(tmp_path: Path) -> str:
    """The database of an app built apart from ``app`` (``built_app``, ``make_api_app``): a
    SQLite file under ``tmp_path``, or this test process's PostgreSQL database, whose tables
    the ``app`` fixture empties after each test."""
    return f"sqlite:///{tmp_path / 'test.db'}" if postgres_url() is None else worker_database_url()


@contextmanager
def built_app(tmp_path: Path, redis_url: str, **overrides) -> Iterator[Flask]:
    """An app of its own with empty tables (SQLite under ``tmp_path`` or this test process's
    PostgreSQL database), its rows deleted after."""
    config = test_config(
        tmp_path, REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url(tmp_path)
    )
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_tables(db.engine, db.metadata)
            db.engine.dispose()


@pytest.fixture
def file_store() -> str:
    """The FILE_STORE of the ``app`` fixture; modules parametrize it to run on both stores."""
    return "local"


BOTH_FILE_STORES = pytest.mark.parametrize("file_store", ["local", "database"])


@pytest.fixture(scope="session")
def session_app(tmp_path_factory, redis_server) -> Iterator[Flask]:
    """The app every test's ``app`` is: built once per test process, with its schema."""
    root = tmp_path_factory.mktemp("app")
    url = database_url(root)
    app = create_app(test_config(root, REDIS_URL=redis_server.url, SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if postgres_url() is not None and worker_name():
        drop_database(database_name())


@pytest.fixture
def app(session_app, tmp_path, redis_server, file_store):
    """The application on empty tables, an empty Redis db and folders under ``tmp_path``.

    It is the session's app: what a test changes in ``app.config`` or ``app.extensions`` is
    undone after it, and every row it left is deleted.
    """
    app = session_app
    saved = copy.deepcopy(dict(app.config))
    extensions = dict(app.extensions)
    app.config.update(
        test_config(
            tmp_path,
            REDIS_URL=redis_server.url,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            FILE_STORE=file_store,
        )
    )
    app.instance_path = str(tmp_path)
    # The rate limiter is one object that every create_app binds to its app (a test's own app
    # may have taken it, to a dead Redis): bound to this one again, its counts start afresh.
    init_limiter(app)
    with app.app_context():
        get_redis().flushdb()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_tables(db.engine, db.metadata)
        app.config.clear()
        app.config.update(saved)
        app.extensions.clear()
        app.extensions.update(extensions)


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly (not with clients:
    a test client reuses an outer app context, and with it the signed-in user)."""
    with app.app_context():
        yield app


@dataclass(frozen=True)
class Account:
    """A user created for a test, as plain data usable inside and outside app contexts."""

    id: int
    email: str
    role: str
    organisation_id: int

    def load(self):
        """The User row, in the current app context's session."""
        from bulkapp.models import User

        return db.session.get(User, self.id)


def make_account(app, org_slug: str, email: str, role: str = "member") -> Account:
    """Create ``email`` (and its organisation when new) and return it as an Account."""
    with app.app_context():
        organisation = find_organisation(org_slug) or create_organisation(
            org_slug.replace("-", " ").title(), org_slug
        )
        user, _ = create_user(organisation=organisation, email=email, role=role, password=PASSWORD)
        db.session.commit()
        return Account(user.id, user.email, user.role, user.organisation_id)


@pytest.fixture
def user_a(app):
    return make_account(app, "org-a", "member@a.example")


@pytest.fixture
def admin_a(app):
    return make_account(app, "org-a", "admin@a.example", "national_admin")


@pytest.fixture
def user_b(app):
    return make_account(app, "org-b", "member@b.example")


@pytest.fixture
def super_admin(app):
    return make_account(app, "operators", "root@ops.example", "super_admin")


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    """Sign ``client`` in through the real login form."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def client_a(app, user_a):
    return login(app.test_client(), user_a.email)


@pytest.fixture
def client_b(app, user_b):
    return login(app.test_client(), user_b.email)


def web_upload(
    client,
    data: bytes,
    filename: str = "mechanics.csv",
    entity: str = "mechanics",
    mode: str = "partial",
    import_when_certain: bool = True,
):
    """POST a file through the real upload form (with its CSRF token); returns the response.

    By default "import straight away when the mapping is certain" is ticked, so a file with
    exact headers is imported without stopping at its review.
    """
    token = csrf_token(client.get("/upload").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "entity_type": entity,
        "mode": mode,
        "file": (io.BytesIO(data), filename),
    }
    if import_when_certain:
        form["import_when_certain"] = "y"
    return client.post("/upload", data=form, content_type="multipart/form-data")


def uploaded_job_id(response) -> str:
    """The job id an accepted upload form redirected to."""
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def fetch_job(app, job_id: str):
    """The ImportJob as the database has it now, detached from any session."""
    from bulkapp.models import ImportJob

    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


CELL_NUMBER_MAPPING = {"columns": {"Cell Number": "mobile_number"}, "values": {}}


def save_mapping(app, organisation_id: int, mapping: dict = CELL_NUMBER_MAPPING) -> int:
    """A saved mapping of mechanics for ``organisation_id`` (under a made-up header
    signature); returns its id."""
    from bulkapp.models import SavedMapping

    with app.app_context():
        saved = SavedMapping(
            organisation_id=organisation_id,
            entity_type="mechanics",
            header_signature="0" * 32,
            headers=list(mapping["columns"]),
            mapping=mapping,
        )
        db.session.add(saved)
        db.session.commit()
        return saved.id


def stored_bytes(key: str | None, kind: str = REPORTS) -> bytes:
    """The whole file at ``key``, from whichever store holds it (in an app context)."""
    assert key, "no file is stored"
    return b"".join(store_holding(key, kind).chunks(key))


def run_worker(app) -> None:
    """Process every queued job with a real RQ SimpleWorker in burst mode."""
    with app.app_context():
        connection = get_redis()
        queues = [get_queue(name, connection) for name in worker_queue_names()]
        SimpleWorker(queues, connection=connection).work(burst=True)
