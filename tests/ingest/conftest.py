"""Fixtures for pipeline tests: jobs created straight from file content, run in-process."""

from __future__ import annotations

import io

import pytest

from bulkapp.extensions import db
from bulkapp.models import ImportJob
from bulkapp.storage import UPLOADS, configured_store

MECHANICS_HEADER = "firstName,lastName,email,mobileNumber,yearsExperience,city,province\n"


def mechanic_rows(count: int, start: int = 0, first_name: str = "John") -> str:
    """``count`` valid mechanics rows (CSV lines), e-mails m<i>@example.com."""
    return "".join(
        f"{first_name},Doe{i},m{i}@example.com,082{i:07d},{i % 40},Pretoria,Gauteng\n"
        for i in range(start, start + count)
    )


def create_job(
    account,
    content: str | bytes,
    *,
    entity: str = "mechanics",
    mode: str = "partial",
    filename: str = "upload.csv",
) -> ImportJob:
    """An ImportJob (queued, not enqueued) for ``content`` uploaded by ``account``."""
    data = content.encode() if isinstance(content, str) else content
    key, size = configured_store(UPLOADS).save_stream(
        io.BytesIO(data), "." + filename.rsplit(".", 1)[-1], account.organisation_id
    )
    job = ImportJob(
        organisation_id=account.organisation_id,
        user_id=account.id,
        entity_type=entity,
        mode=mode,
        original_filename=filename,
        stored_path=key,
        file_size=size,
        queue_name="test",
    )
    db.session.add(job)
    db.session.commit()
    return job


@pytest.fixture
def small_chunks(app):
    """Chunks of 10 rows, so a small file spans several chunks."""
    app.config["IMPORT_CHUNK_ROWS"] = 10
    return 10
