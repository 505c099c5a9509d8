"""Shared nothing: gunicorn and two ``python worker.py`` processes, each with instance, upload
and report folders of its own, share only PostgreSQL and Redis (``FILE_STORE=database``), as
dynos on Heroku do. Uploads through the browser and the API are imported, their error
reports downloaded byte for byte, and an import whose worker is killed with -9 resumes
exactly on the other.

On SQLite the database is a file the processes share anyway, so the test needs
TEST_DATABASE_URL (PostgreSQL); CI runs it there.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect
from redis import Redis
from sqlalchemy import create_engine, text

from tests.e2e.browser import UI_TIMEOUT_MS, sign_in
from tests.e2e.harness import LiveStack, create_accounts, migrated_environment, run_flask
from tests.jobs.test_worker_crashes import (
    FAIL_OVER_SECONDS,
    RESUMPTION_CEILING,
    fail_over_seconds,
    last_heartbeat,
    redis_settled,
    registered_workers,
    worker_process_of,
)
from tests.processes import ManagedProcess, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"),
        reason="needs PostgreSQL (TEST_DATABASE_URL): on SQLite the processes share a file",
    ),
]

API = "/api/v1"
REDIS_DB = 2  # the session's shared live stack uses 1, the in-process tests 0
HEADER = ["firstName", "lastName", "email", "mobileNumber"]
BAD_MESSAGE = "email is not a valid e-mail address."
ROWS = 6000  # in chunks of 20: long enough to kill its worker half-way


def people(rows: int, bad_every: int, tag: str) -> list[list[str]]:
    """``rows`` mechanics, e-mails ``<tag><n>@example.com``; every ``bad_every``-th has an
    e-mail address that is not one."""
    return [
        [
            f"First{i}",
            f"Last{i}",
            f"nobody{i}" if i % bad_every == 7 else f"{tag}{i}@example.com",
            f"082{i:07d}",
        ]
        for i in range(rows)
    ]


def as_csv(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(row) for row in [HEADER, *rows]) + "\n").encode()


def expected_report(rows: list[list[str]]) -> list[list[str]]:
    """The error report of ``rows``: its header, then each bad row with its sheet row number
    (the header is row 1) and the message."""
    bad = [[str(i + 2), *row, BAD_MESSAGE] for i, row in enumerate(rows) if "@" not in row[2]]
    return [["row", *HEADER, "errors"], *bad]


def parsed_report(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "the report opens in Excel as UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def own_dirs(root: Path, name: str) -> dict[str, str]:
    """Instance, upload and report folders of one process, shared with nobody."""
    return {
        "INSTANCE_DIR": str(root / name / "instance"),
        "UPLOAD_DIR": str(root / name / "uploads"),
        "REPORT_DIR": str(root / name / "reports"),
    }


@dataclass
class SharedNothing:
    """The running processes, their root folder and an admin's API session."""

    stack: LiveStack
    root: Path
    admin_email: str
    api: requests.Session
    workers: list[ManagedProcess]

    def job(self, job_id: str) -> dict:
        """The job's row as the database has it now."""
        engine = create_engine(self.stack.env["DATABASE_URL"])
        try:
            with engine.connect() as connection:
                query = text("SELECT * FROM import_jobs WHERE id = :id")
                return dict(connection.execute(query, {"id": job_id}).mappings().one())
        finally:
            engine.dispose()

    def upload(self, data: bytes, name: str) -> str:
        response = self.api.post(
            f"{self.stack.url}{API}/bulk-upload/mechanics",
            files={"file": (name, data, "text/csv")},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        return response.json()["data"]["jobId"]

    def finished(self, job_id: str, timeout: float = 240) -> dict:
        def done():
            row = self.job(job_id)
            return row["status"] in ("completed", "failed", "canceled") and row

        return wait_for(done, timeout, "the import to finish", 0.5, self.workers)

    def kept_files(self, process: str) -> list[Path]:
        """Uploads, reports and working copies in the folders of ``process``."""
        folders = [Path(path) for path in own_dirs(self.root, process).values()]
        places = [*folders[1:], folders[0] / "attempts"]
        return [path for place in places for path in place.rglob("*") if path.is_file()]

    def report(self, job_id: str) -> bytes:
        response = self.api.get(f"{self.stack.url}{API}/bulk-upload/{job_id}/errors", timeout=30)
        assert response.status_code == 200, response.text
        return response.content


@pytest.fixture(scope="module")
def shared_nothing(tmp_path_factory, redis_server) -> Iterator[SharedNothing]:
    """gunicorn and two ``python worker.py``, each with folders of its own, on a PostgreSQL
    database and a Redis db of their own, FILE_STORE=database."""
    root = tmp_path_factory.mktemp("shared-nothing")
    redis_url = f"redis://127.0.0.1:{redis_server.port}/{REDIS_DB}"
    Redis.from_url(redis_url).flushdb()
    with migrated_environment(root, redis_url, "shared_nothing") as env:
        env.update({"FILE_STORE": "database", "IMPORT_CHUNK_ROWS": "20"})
        cli_env = {**env, **own_dirs(root, "cli")}
        accounts = create_accounts(cli_env)
        token = run_flask(cli_env, "tokens", "create", "--email", accounts.admin_email).strip()
        stack = LiveStack({**env, **own_dirs(root, "web")}, root / "logs")
        try:
            stack.start_web()
            workers = [
                stack.start(
                    [sys.executable, "worker.py"],
                    name=f"worker-{n}",
                    **own_dirs(root, f"worker-{n}"),
                )
                for n in (1, 2)
            ]
            api = requests.Session()
            api.headers["Authorization"] = f"Bearer {token}"
            yield SharedNothing(stack, root, accounts.admin_email, api, workers)
        finally:
            stack.stop_all()
            Redis.from_url(redis_url).flushdb()


def test_uploads_through_the_browser_and_the_api_give_their_error_reports_back(
    shared_nothing: SharedNothing, browser: Browser
):
    rows = people(120, bad_every=50, tag="small")
    expected = expected_report(rows)
    assert len(expected) == 4
    csv_path = shared_nothing.root / "browser-mechanics.csv"
    csv_path.write_bytes(as_csv(rows))

    context = browser.new_context(base_url=shared_nothing.stack.url, accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, shared_nothing.admin_email)
        page.get_by_role("link", name="Upload", exact=True).click()
        page.select_option("#entity_type", "mechanics")
        page.uncheck("#import_when_certain")
        page.set_input_files("#file", str(csv_path))
        page.get_by_role("button", name="Upload").click()
        # A worker analyses the upload read from the database, then the review waits.
        expect(page).to_have_url(
            re.compile(r"/jobs/[0-9a-f-]{32,36}/review$"), timeout=UI_TIMEOUT_MS
        )
        expect(page.locator("#review-rejected")).to_have_text("3")
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{32,36}$"))
        expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
        expect(page.locator("#count-invalid")).to_have_text("3")
        with page.expect_download() as download:
            page.locator("#job-report-link").click()
        from_browser = Path(download.value.path()).read_bytes()
    finally:
        context.close()
    assert parsed_report(from_browser) == expected

    job_id = shared_nothing.upload(as_csv(rows), "api-mechanics.csv")
    job = shared_nothing.finished(job_id)
    assert (job["status"], job["invalid_rows"], job["inserted_rows"]) == ("completed", 3, 0)
    assert job["stored_path"].startswith("database:")
    assert (job["report_path"], job["rejected_rows_kept"]) == (None, 3), "kept as rows"
    assert shared_nothing.report(job_id) == from_browser, "the same rows give the same bytes"

    assert not shared_nothing.kept_files("web"), "the web keeps no file of its own"


def test_a_worker_killed_mid_import_leaves_it_to_the_other_which_resumes_it_exactly(
    shared_nothing: SharedNothing,
):
    connection = Redis.from_url(shared_nothing.stack.redis_url)
    wait_for(lambda: len(registered_workers(connection)) == 2, 60, "both workers to start")
    wait_for(lambda: redis_settled(connection), 20, "Redis to settle")
    rows = people(ROWS, bad_every=500, tag="big")
    job_id = shared_nothing.upload(as_csv(rows), "big-mechanics.csv")

    def under_way():
        job = shared_nothing.job(job_id)
        return job["status"] == "processing" and 0 < job["processed_rows"] < ROWS and job

    at_kill = wait_for(under_way, 90, "the import to be under way", 0.1, shared_nothing.workers)
    running = worker_process_of(connection, job_id)
    doomed = next(w for w in shared_nothing.workers if w.pid == running.ppid())
    survivor = next(w for w in shared_nothing.workers if w is not doomed)
    doomed.kill_everything()  # kill -9 the supervisor, its worker and the work horse
    last_alive = last_heartbeat(connection, job_id)
    assert at_kill["report_path"] is None

    wait_for(
        lambda: shared_nothing.job(job_id)["attempts"] == 2,
        RESUMPTION_CEILING,
        "the other worker to resume the import",
        0.2,
        [survivor],
    )
    fail_over = fail_over_seconds(connection, job_id, last_alive)
    print(f"resumed {fail_over:.1f} s after the dead worker's last heartbeat")
    assert fail_over <= FAIL_OVER_SECONDS
    job = wait_for(
        lambda: (row := shared_nothing.job(job_id))["status"] == "completed" and row,
        240,
        "the import to complete",
        0.5,
        [survivor],
    )
    bad = len(expected_report(rows)) - 1
    assert (job["attempts"], job["total_rows"], job["invalid_rows"]) == (2, ROWS, bad)
    assert (job["inserted_rows"], job["updated_rows"], job["unchanged_rows"]) == (ROWS - bad, 0, 0)
    assert parsed_report(shared_nothing.report(job_id)) == expected_report(rows)
    engine = create_engine(shared_nothing.stack.env["DATABASE_URL"])
    try:
        with engine.connect() as db:
            stored = db.execute(
                text(
                    "SELECT count(DISTINCT email), count(*) FROM mechanics WHERE email LIKE 'big%'"
                )
            ).one()
    finally:
        engine.dispose()
    assert tuple(stored) == (ROWS - bad, ROWS - bad)
    assert shared_nothing.kept_files(doomed.name), "the killed worker had its own copy"
    wait_for(  # the attempt removes them right after its last commit
        lambda: not shared_nothing.kept_files(survivor.name),
        10,
        "the surviving worker to remove its working copies",
    )
