"""The bad-file corpus: each file goes through the web upload and a real worker, and ends as
a failed job (or row errors) with a message a user understands; nothing is lost, no 500.

Small files live in tests/data/; big or binary ones are generated here.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from markupsafe import escape
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.jobs.queues import worker_queue_names
from bulkapp.models import ENTITY_TABLES, ImportJob
from tests.conftest import (
    DATA_DIR,
    csrf_token,
    fetch_job,
    run_worker,
    uploaded_job_id,
    web_upload,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEADER = "firstName,lastName,email,mobileNumber\n"


def xlsx_bytes(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A small workbook carrying a part that unpacks a thousand times larger."""
    out = io.BytesIO(xlsx_bytes([["firstName", "lastName"], ["John", "Doe"]]))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.png", bytes(40 * 1024 * 1024))
    return out.getvalue()


def entity_bomb() -> bytes:
    """A workbook whose shared strings declare 'billion laughs' entities."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    prolog = f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY l0 "lol">{laughs}]>'
    source = io.BytesIO(xlsx_bytes([["firstName"], ["John"]]))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            data = old.read(member)
            if member.filename == "xl/workbook.xml":
                data = prolog.encode() + data
            new.writestr(member.filename, data)
    return out.getvalue()


def corpus(name: str) -> bytes:
    return (DATA_DIR / name).read_bytes()


@dataclass(frozen=True)
class BadFile:
    """One corpus case: what is uploaded and the words its failure message must contain."""

    case: str
    filename: str
    content: bytes
    words: tuple[str, ...]


BAD_FILES = [
    BadFile("header only", "header_only.csv", corpus("header_only.csv"), ("no data rows",)),
    BadFile(
        "binary garbage named .csv",
        "export.csv",
        random.Random(3).randbytes(8192),
        ("binary data",),
    ),
    BadFile(
        "a PNG named .xlsx",
        "photo_named.xlsx",
        corpus("photo_named.xlsx"),
        ("not a valid Excel .xlsx workbook",),
    ),
    BadFile("an XLSX zip bomb", "bomb.xlsx", zip_bomb(), ("zip bomb", "not opened")),
    BadFile("an XML entity bomb", "laughs.xlsx", entity_bomb(), ("DTD or XML entities",)),
    BadFile(
        "malformed quoting",
        "malformed_quoting.csv",
        corpus("malformed_quoting.csv"),
        ("never closed", "row 3"),
    ),
    BadFile(
        "a 10,000-column row",
        "wide.csv",
        (HEADER + "John,Doe,john@example.com,0821234567\n" + "x," * 9999 + "x\n").encode(),
        ("Line 3 has 10,000 values", "4 columns"),
    ),
    BadFile(
        "a single 10 MB line",
        "long.csv",
        (HEADER + "x" * 10_000_000 + "\n").encode(),
        ("Line 2", "longer than 1 MB"),
    ),
    BadFile("an empty file (no bytes at all)", "empty.csv", b"", ("empty.csv is empty",)),
    BadFile(
        "a JSON object instead of an array",
        "json_object.json",
        corpus("json_object.json"),
        ("single JSON object", "list"),
    ),
    BadFile(
        "deeply nested JSON",
        "nested.json",
        ('[{"firstName": ' + "[" * 100_000 + "]" * 100_000 + "}]").encode(),
        ("nested too deeply",),
    ),
]


def upload(client, content: bytes, filename: str, entity: str = "mechanics"):
    return web_upload(client, content, filename, entity)


job_of = fetch_job


def stored_mechanics(app) -> list[str]:
    with app.app_context():
        table = ENTITY_TABLES["mechanics"]
        return db.session.scalars(select(table.c.email).order_by(table.c.email)).all()


def assert_failed_with(app, client, job_id: str, words: tuple[str, ...]) -> None:
    """The job failed with ``words`` in its message, shown on its page, and was no crash."""
    job = job_of(app, job_id)
    assert job.status == "failed", (job.status, job.error_message)
    for word in words:
        assert word in job.error_message
    assert job.error_traceback is None, "bad input is not a crash"
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert str(escape(job.error_message)) in page.get_data(as_text=True)


@pytest.mark.parametrize("bad", BAD_FILES, ids=[bad.case for bad in BAD_FILES])
def test_bad_file_fails_its_job_with_a_clear_message(app, client_a, bad):
    job_id = uploaded_job_id(upload(client_a, bad.content, bad.filename))
    run_worker(app)
    assert_failed_with(app, client_a, job_id, bad.words)
    assert stored_mechanics(app) == []


def test_duplicate_headers_stop_at_the_review_naming_both(app, client_a):
    """Two columns that are both the e-mail: the review says so, and the person picks one."""
    job_id = uploaded_job_id(upload(client_a, corpus("duplicate_headers.csv"), "dup.csv"))
    run_worker(app)
    job = job_of(app, job_id)
    assert job.status == "needs_review"
    for word in ("Duplicate columns", "email", "E-mail"):
        assert word in job.analysis["problem"]
    page = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert str(escape(job.analysis["problem"])) in page
    assert stored_mechanics(app) == []


def test_unknown_entity_type_is_refused_at_upload(app, client_a):
    response = upload(client_a, corpus("good_mechanics.csv"), "m.csv", entity="spaceships")
    assert response.status_code == 400
    assert "Choose what the file contains from the list" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_wrong_types_become_row_errors_and_the_good_rows_are_stored(app, client_a):
    job_id = uploaded_job_id(upload(client_a, corpus("wrong_types.csv"), "wrong_types.csv"))
    run_worker(app)
    assert job_of(app, job_id).status == "needs_review", "an unknown province is asked about"
    review = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    client_a.post(
        f"/jobs/{job_id}/review", data={"csrf_token": csrf_token(review), "action": "import"}
    )
    run_worker(app)
    job = job_of(app, job_id)
    assert job.status == "completed", job.error_message
    assert (job.total_rows, job.valid_rows, job.invalid_rows) == (4, 2, 2)
    assert stored_mechanics(app) == ["ana@example.com", "john@example.com"]
    report = client_a.get(f"/jobs/{job_id}/errors.csv")
    assert report.status_code == 200
    text = report.data.decode("utf-8-sig")
    assert "not-an-email" in text and "e-mail" in text and "whole number" in text
    assert "Atlantis" in text and "phone number" in text
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["3", "4"]


@pytest.mark.e2e
def test_a_real_rq_worker_survives_the_whole_corpus_and_imports_the_good_file(
    app, client_a, redis_server, tmp_path
):
    bad_ids = [uploaded_job_id(upload(client_a, bad.content, bad.filename)) for bad in BAD_FILES]
    good_id = uploaded_job_id(upload(client_a, corpus("good_mechanics.csv"), "good.csv"))
    env = {
        **os.environ,
        "BULKAPP_ENV": "testing",
        "REDIS_URL": redis_server.url,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "UPLOAD_DIR": app.config["UPLOAD_DIR"],
        "REPORT_DIR": app.config["REPORT_DIR"],
        "LOG_LEVEL": "WARNING",
    }
    env.pop("FLASK_APP", None)
    rq = Path(sys.executable).with_name("rq")
    worker = subprocess.run(
        [str(rq), "worker", "--burst", "--url", redis_server.url, *worker_queue_names()],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    for bad, job_id in zip(BAD_FILES, bad_ids, strict=True):
        assert_failed_with(app, client_a, job_id, bad.words)
    good = job_of(app, good_id)
    assert good.status == "completed", (good.error_message, worker.stderr[-2000:])
    assert good.valid_rows == 2
    assert stored_mechanics(app) == ["jane@example.com", "john@example.com"]
