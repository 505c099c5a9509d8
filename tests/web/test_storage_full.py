"""A full or read-only upload folder: a clear 503, nothing left behind, readiness says so.

Every test runs against a real, tiny filesystem (tmpfs) mounted for it, which needs root.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.models import ImportJob
from tests.api.conftest import ApiClient, make_token
from tests.conftest import make_account, web_upload

SMALL_SIZE = "64k"
GROWN_SIZE = "16m"
HEADER = b"firstName,lastName,email,mobileNumber\n"
ROW = b"John,Doe,john@example.com,0821234567\n"
SMALL_CSV = HEADER + ROW
BIG_CSV = HEADER + ROW * (256 * 1024 // len(ROW))  # four times the whole filesystem
BIG_RECORDS = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": f"john{n}@example.com",
        "mobileNumber": "0821234567",
    }
    for n in range(4000)
]
FULL_MESSAGE = "its disk is full"
READ_ONLY_MESSAGE = "not writable"


def run_mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@dataclass
class Volume:
    """A mounted tmpfs holding the upload and report folders, and other data filling it."""

    root: Path

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def fill(self) -> None:
        """Let other data take every free byte, as when logs or a backup fill a disk."""
        descriptor = os.open(self.root / "other-data", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(descriptor, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(descriptor)
        assert self.free_bytes() == 0

    def remount(self, options: str) -> None:
        result = run_mount("-o", f"remount,{options}", str(self.root))
        assert result.returncode == 0, result.stderr

    def grow(self) -> None:
        self.remount(f"size={GROWN_SIZE}")

    def make_read_only(self) -> None:
        self.remount("ro")


@pytest.fixture
def volume(tmp_path):
    """A 64 KB tmpfs; skipped when mounting is not permitted, unless CI is set (then failed)."""
    root = tmp_path / "volume"
    root.mkdir()
    result = run_mount("-t", "tmpfs", "-o", f"size={SMALL_SIZE}", "tmpfs", str(root))
    if result.returncode != 0:
        reason = (
            f"these tests mount a tiny tmpfs, which needs root (uid {os.geteuid()}): "
            f"{result.stderr.strip()}"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        volume = Volume(root)
        volume.uploads.mkdir()
        volume.reports.mkdir()
        yield volume
    finally:
        if subprocess.run(["umount", str(root)]).returncode != 0:
            subprocess.run(["umount", "--lazy", str(root)], check=True)


@pytest.fixture
def small_disk(app, volume) -> Volume:
    """The app stores uploads and reports on ``volume``."""
    app.config["UPLOAD_DIR"] = str(volume.uploads)
    app.config["REPORT_DIR"] = str(volume.reports)
    return volume


@pytest.fixture
def api(app, user_a) -> ApiClient:
    return ApiClient(app.test_client(), make_token(app, user_a))


def job_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ImportJob))


def post_file(api: ApiClient, data: bytes, path: str = "/bulk-upload/mechanics", **form: str):
    return api.post(
        path,
        data={"file": (io.BytesIO(data), "mechanics.csv"), **form},
        content_type="multipart/form-data",
    )


def assert_storage_unavailable(response, wording: str) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False and set(body) == {"success", "error"}
    assert body["error"]["code"] == "storage_unavailable"
    assert wording in body["error"]["message"] and "Nothing was saved" in body["error"]["message"]
    assert int(response.headers["Retry-After"]) > 0


def assert_nothing_stored(app, volume: Volume) -> None:
    assert list(volume.uploads.iterdir()) == []
    assert job_count(app) == 0


def readiness(app):
    return app.test_client().get("/api/v1/readyz")


def assert_not_ready_to_store(app) -> None:
    response = readiness(app)
    assert response.status_code == 503, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "not_ready" and "uploads" in error["message"]
    assert error["checks"] == {
        "database": "ok",
        "redis": "ok",
        "uploads": "not writable",
        "reports": "not writable",
    }
    assert response.headers["Retry-After"]
    assert app.test_client().get("/api/v1/healthz").status_code == 200


def assert_ready(app, volume: Volume) -> None:
    response = readiness(app)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["data"]["checks"] == {
        "database": "ok",
        "redis": "ok",
        "uploads": "ok",
        "reports": "ok",
    }
    assert list(volume.reports.iterdir()) == [], "the readiness probes leave nothing behind"


def assert_accepted(app, response, volume: Volume) -> None:
    assert response.status_code == 202, response.get_data(as_text=True)
    assert job_count(app) == 1
    [stored] = volume.uploads.iterdir()
    assert stored.stat().st_size > 0


@pytest.mark.parametrize("path", ["/bulk-upload/mechanics", "/bulk-upload/process"])
def test_a_multipart_upload_on_a_full_disk_is_503_until_the_disk_grows(app, api, small_disk, path):
    small_disk.fill()
    response = post_file(api, BIG_CSV, path, entity="mechanics")
    assert_storage_unavailable(response, FULL_MESSAGE)
    assert_nothing_stored(app, small_disk)
    assert_not_ready_to_store(app)

    small_disk.grow()
    assert_accepted(app, post_file(api, BIG_CSV, path, entity="mechanics"), small_disk)
    assert_ready(app, small_disk)


def test_a_json_array_on_a_full_disk_is_503_until_the_disk_grows(app, api, small_disk):
    small_disk.fill()
    response = api.post("/bulk-upload/mechanics", json=BIG_RECORDS)
    assert_storage_unavailable(response, FULL_MESSAGE)
    assert_nothing_stored(app, small_disk)
    assert_not_ready_to_store(app)

    small_disk.grow()
    response = api.post("/bulk-upload/mechanics", json=BIG_RECORDS)
    assert_accepted(app, response, small_disk)
    [stored] = small_disk.uploads.iterdir()
    assert json.loads(stored.read_bytes()) == BIG_RECORDS
    assert_ready(app, small_disk)


def test_a_file_larger_than_the_free_space_leaves_no_partial_file(app, api, small_disk, caplog):
    free_before = small_disk.free_bytes()
    assert 0 < free_before < len(BIG_CSV)
    response = post_file(api, BIG_CSV)
    assert_storage_unavailable(response, FULL_MESSAGE)
    assert_nothing_stored(app, small_disk)
    assert small_disk.free_bytes() == free_before, "the partial file's space is given back"
    assert any(
        record.levelname == "ERROR"
        and str(small_disk.uploads) in record.getMessage()
        and "ENOSPC" in record.getMessage()
        for record in caplog.records
    ), "the operator's log names the folder and the errno"
    assert_ready(app, small_disk)

    assert_accepted(app, post_file(api, SMALL_CSV), small_disk)


def test_the_upload_page_on_a_full_disk_shows_a_friendly_503_page(app, client_a, small_disk):
    small_disk.fill()
    response = web_upload(client_a, BIG_CSV)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert FULL_MESSAGE in page and "Nothing was saved" in page
    assert 'href="/upload"' in page and 'href="/jobs"' in page
    assert "Traceback" not in page
    assert_nothing_stored(app, small_disk)
    assert_not_ready_to_store(app)

    small_disk.grow()
    response = web_upload(client_a, BIG_CSV)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/jobs/")
    assert job_count(app) == 1 and len(list(small_disk.uploads.iterdir())) == 1
    assert_ready(app, small_disk)


def test_a_read_only_upload_folder_is_503_and_readiness_reports_it(app, api, client_a, small_disk):
    small_disk.make_read_only()
    assert_storage_unavailable(post_file(api, SMALL_CSV), READ_ONLY_MESSAGE)
    assert_storage_unavailable(
        api.post("/bulk-upload/mechanics", json=BIG_RECORDS), READ_ONLY_MESSAGE
    )
    page = web_upload(client_a, SMALL_CSV)
    assert page.status_code == 503 and READ_ONLY_MESSAGE in page.get_data(as_text=True)
    assert_nothing_stored(app, small_disk)
    assert_not_ready_to_store(app)

    small_disk.remount("rw")
    assert_accepted(app, post_file(api, SMALL_CSV), small_disk)
    assert_ready(app, small_disk)


def test_flask_bulk_import_on_a_full_disk_explains_instead_of_a_traceback(
    app, small_disk, tmp_path
):
    make_account(app, "org-a", "member@a.example")
    source = tmp_path / "mechanics.csv"
    source.write_bytes(BIG_CSV)
    small_disk.fill()
    result = app.test_cli_runner().invoke(
        args=["bulk", "import", "mechanics", str(source), "--org", "org-a"]
    )
    assert result.exit_code == 1, result.output
    assert FULL_MESSAGE in result.output and "Nothing was saved" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert_nothing_stored(app, small_disk)
    assert source.read_bytes() == BIG_CSV
