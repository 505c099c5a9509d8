import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs.attempts import run_import
from bulkapp.jobs.imports import IdempotencyKeyUsed, start_import
from bulkapp.models import ENTITY_TABLES, ImportJob
from tests.conftest import run_worker


def start(account, data: bytes, entity="mechanics", filename="file.csv"):
    job, enqueued = start_import(
        user=account.load(), entity_type=entity, stream=io.BytesIO(data), filename=filename
    )
    assert enqueued
    return job


def rows(table_name: str):
    table = ENTITY_TABLES[table_name]
    return db.session.execute(select(table).order_by(table.c.id)).mappings().all()


def test_missing_required_columns_fail_the_job_naming_them_before_any_row_is_written(
    app, ctx, user_a
):
    job = start(user_a, b"firstName,email\nJohn,john@example.com\n")
    run_worker(app)
    db.session.refresh(job)
    assert job.status == "failed"
    assert "lastName" in job.error_message and "mobileNumber" in job.error_message
    assert rows("mechanics") == []
    assert Path(job.stored_path).exists(), "a failed job keeps its upload for a retry"


def test_reupload_updates_instead_of_duplicating(app, ctx, user_a):
    start(user_a, b"firstName,lastName,email,mobileNumber\nJohn,Doe,john@example.com,0821234567\n")
    run_worker(app)
    start(user_a, b"First Name,Last Name,E-mail,Mobile\nJohnny,Doe,john@example.com,0821234567\n")
    run_worker(app)
    stored = rows("mechanics")
    assert len(stored) == 1
    assert stored[0]["first_name"] == "Johnny"


def test_rows_belong_to_the_uploaders_organisation(app, ctx, user_a, user_b):
    data = b"firstName,lastName,email,mobileNumber\nJohn,Doe,john@example.com,0821234567\n"
    start(user_a, data)
    start(user_b, data)
    run_worker(app)
    owners = sorted(r["organisation_id"] for r in rows("mechanics"))
    assert owners == sorted([user_a.organisation_id, user_b.organisation_id])


def test_running_a_finished_job_again_changes_nothing(app, ctx, user_a):
    job = start(
        user_a, b"firstName,lastName,email,mobileNumber\nJohn,Doe,j@example.com,0821234567\n"
    )
    run_worker(app)
    before = run_import(job.id)
    assert before["status"] == "completed"
    assert len(rows("mechanics")) == 1


def test_unknown_job_id_is_reported_not_raised(ctx):
    assert run_import("no-such-job") is None


def test_a_second_job_with_the_same_idempotency_key_is_refused_and_leaves_no_file(app, ctx, user_a):
    data = b"firstName,lastName,email,mobileNumber\nJohn,Doe,j@example.com,0821234567\n"
    first, _ = start_import(
        user=user_a.load(),
        entity_type="mechanics",
        stream=io.BytesIO(data),
        filename="a.csv",
        idempotency_key="key-1",
    )
    with pytest.raises(IdempotencyKeyUsed):
        start_import(
            user=user_a.load(),
            entity_type="mechanics",
            stream=io.BytesIO(data),
            filename="a.csv",
            idempotency_key="key-1",
        )
    assert db.session.scalars(select(ImportJob)).all() == [first]
    assert sorted(Path(app.config["UPLOAD_DIR"]).iterdir()) == [Path(first.stored_path)]
