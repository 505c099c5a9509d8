"""The file stores, on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL): files
streamed in and out byte for byte, in fixed chunks, removed whole, never left half-written."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from werkzeug.exceptions import ClientDisconnected

from bulkapp.extensions import db
from bulkapp.jobs.maintenance import nightly_clean_up
from bulkapp.models import StoredFile, StoredFileChunk, utcnow
from bulkapp.storage import (
    CHUNK_BYTES,
    DATABASE_KEY_PREFIX,
    UPLOADS,
    DatabaseStore,
    attempt_workspace,
    configured_store,
)
from tests.api.conftest import ApiClient, make_token
from tests.conftest import BOTH_FILE_STORES, stored_bytes

# Two and a half chunks of bytes that are not text: every byte value, in no simple order.
BIG = os.urandom(CHUNK_BYTES * 5 // 2)


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, as a socket does, and can
    break (``fail_after`` bytes) as a client that goes away does."""

    def __init__(self, data: bytes, step: int = 65_536, fail_after: int | None = None) -> None:
        self.data, self.step, self.fail_after, self.sent = data, step, fail_after, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise ClientDisconnected()
        size = self.step if size < 0 else min(size, self.step)
        block = self.data[self.sent : self.sent + size]
        self.sent += len(block)
        return block


def stored_file_count() -> int:
    return db.session.scalar(select(func.count()).select_from(StoredFile))


def chunk_count() -> int:
    return db.session.scalar(select(func.count()).select_from(StoredFileChunk))


def upload_files(ctx) -> list[Path]:
    folder = Path(ctx.config["UPLOAD_DIR"])
    return list(folder.iterdir()) if folder.is_dir() else []


@BOTH_FILE_STORES
def test_a_file_larger_than_a_chunk_goes_in_and_out_byte_for_byte(ctx, user_a, file_store):
    store = configured_store(UPLOADS)
    key, size = store.save_stream(Trickle(BIG), ".csv", user_a.organisation_id)
    assert size == len(BIG)
    assert key.startswith(DATABASE_KEY_PREFIX) == (file_store == "database")
    assert store.exists(key)
    assert stored_bytes(key, UPLOADS) == BIG
    with attempt_workspace() as workspace, store.local_copy(key, workspace) as path:
        assert path.read_bytes() == BIG
    assert not workspace.exists(), "the attempt's copies are removed when it ends"
    assert store.delete(key) == 1
    assert not store.exists(key) and store.delete(key) == 0
    assert stored_file_count() == chunk_count() == 0 and not upload_files(ctx)


@pytest.mark.parametrize("file_store", ["database"])
def test_the_database_store_keeps_fixed_chunks_of_a_mebibyte(ctx, user_a, file_store):
    key, _ = DatabaseStore().save_stream(Trickle(BIG, step=1000), ".csv", user_a.organisation_id)
    sizes = db.session.scalars(
        select(func.length(StoredFileChunk.data))
        .where(StoredFileChunk.file_id == DatabaseStore.file_id(key))
        .order_by(StoredFileChunk.seq)
    ).all()
    assert sizes == [CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES // 2]
    stored = db.session.get(StoredFile, DatabaseStore.file_id(key))
    assert (stored.size, stored.complete, stored.organisation_id) == (
        len(BIG),
        True,
        user_a.organisation_id,
    )


@BOTH_FILE_STORES
def test_an_upload_cut_off_half_way_leaves_nothing_behind(ctx, user_a, file_store):
    broken = Trickle(BIG, fail_after=CHUNK_BYTES + 1000)
    with pytest.raises(ClientDisconnected):
        configured_store(UPLOADS).save_stream(broken, ".csv", user_a.organisation_id)
    assert stored_file_count() == chunk_count() == 0 and not upload_files(ctx)


def refuse_chunks(from_seq: int) -> None:
    """Make the database itself refuse chunks from ``from_seq`` on (a full disk, say)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                "CREATE OR REPLACE FUNCTION refuse_chunk() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$"
            )
        )
        db.session.execute(
            text(
                "CREATE TRIGGER refuse_chunk BEFORE INSERT ON stored_file_chunks FOR EACH ROW "
                f"WHEN (NEW.seq >= {from_seq}) EXECUTE FUNCTION refuse_chunk()"
            )
        )
    else:
        db.session.execute(
            text(
                "CREATE TRIGGER refuse_chunk BEFORE INSERT ON stored_file_chunks "
                f"WHEN NEW.seq >= {from_seq} "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        )
    db.session.commit()


@pytest.fixture
def refusing_database(ctx):
    """``refuse_chunks``, undone after the test."""
    yield refuse_chunks
    db.session.execute(text("DROP TRIGGER IF EXISTS refuse_chunk" + drop_suffix()))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP FUNCTION IF EXISTS refuse_chunk()"))
    db.session.commit()


@pytest.mark.parametrize("file_store", ["database"])
def test_a_database_that_refuses_the_file_is_a_503_and_keeps_nothing(
    app, user_a, file_store, refusing_database
):
    refusing_database(1)
    api = ApiClient(app.test_client(), make_token(app, user_a))
    response = api.post(
        "/bulk-upload/mechanics",
        data={"file": (io.BytesIO(b"email\n" + BIG), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "storage_unavailable"
    assert "database does not take files" in response.get_json()["error"]["message"]
    assert response.headers["Retry-After"] == "120"
    with app.app_context():
        assert stored_file_count() == chunk_count() == 0
        assert db.session.scalar(text("SELECT count(*) FROM import_jobs")) == 0


@BOTH_FILE_STORES
def test_readiness_probes_the_store_and_leaves_nothing(ctx, file_store):
    assert configured_store(UPLOADS).check_writable()
    assert stored_file_count() == chunk_count() == 0 and not upload_files(ctx)


@pytest.mark.parametrize("file_store", ["database"])
def test_readiness_says_uploads_are_not_writable_when_the_database_refuses_files(
    app, file_store, refusing_database
):
    client = app.test_client()
    assert client.get("/api/v1/readyz").status_code == 200
    refusing_database(0)
    response = client.get("/api/v1/readyz")
    assert response.status_code == 503
    checks = response.get_json()["error"]["checks"]
    assert checks["uploads"] == checks["reports"] == "not writable"
    assert checks["database"] == "ok"
    with app.app_context():
        assert stored_file_count() == 0, "the probe leaves nothing behind"


def drop_suffix() -> str:
    return " ON stored_file_chunks" if db.engine.dialect.name == "postgresql" else ""


@pytest.mark.parametrize("file_store", ["database"])
def test_the_nightly_clean_up_removes_uploads_whose_writer_died(ctx, user_a, file_store):
    store = DatabaseStore()
    old, _ = store.save_stream(io.BytesIO(b"a,b\n"), ".csv", user_a.organisation_id)
    fresh, _ = store.save_stream(io.BytesIO(b"a,b\n"), ".csv", user_a.organisation_id)
    done, _ = store.save_stream(io.BytesIO(b"a,b\n"), ".csv", user_a.organisation_id)
    for key, age in ((old, timedelta(hours=2)), (fresh, timedelta(minutes=5))):
        db.session.execute(
            update(StoredFile)
            .where(StoredFile.id == DatabaseStore.file_id(key))
            .values(complete=False, created_at=utcnow() - age)
        )
    db.session.commit()
    assert nightly_clean_up()["abandoned_uploads_deleted"] == 1
    assert db.session.get(StoredFile, DatabaseStore.file_id(old)) is None
    assert db.session.get(StoredFile, DatabaseStore.file_id(fresh)) is not None
    assert store.exists(done) and not store.exists(fresh)


def test_a_dead_attempts_workspace_is_swept_when_the_next_attempt_starts(ctx):
    root = Path(ctx.config["INSTANCE_DIR"]) / "attempts"
    dead = root / "999999999-abc"  # no process has this id
    dead.mkdir(parents=True)
    (dead / "upload.csv").write_bytes(b"left by a worker killed with -9")
    live = root / f"{os.getpid()}-def"
    live.mkdir()
    with attempt_workspace():
        assert not dead.exists()
        assert live.exists(), "a running attempt's workspace is left alone"
