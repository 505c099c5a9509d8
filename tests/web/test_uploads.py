import io
from pathlib import Path

from rq import Queue
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES, ImportJob
from tests.conftest import csrf_token, run_worker, web_upload

CSV = (
    b"firstName,lastName,email,mobileNumber\nJohn,Doe,john@example.com,0821234567\n"
    b"Jane,Roe,jane@example.com,0831234567\n"
)


def upload(client, data: bytes = CSV, filename: str = "mechanics.csv", entity: str = "mechanics"):
    return web_upload(client, data, filename, entity)


def only_job(app) -> ImportJob:
    with app.app_context():
        jobs = db.session.scalars(select(ImportJob)).all()
        assert len(jobs) == 1
        db.session.expunge_all()
        return jobs[0]


def test_upload_stores_the_file_commits_the_job_and_enqueues_only_its_id(app, client_a):
    response = upload(client_a)
    assert response.status_code == 302
    job = only_job(app)
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert job.status == "queued" and job.entity_type == "mechanics"
    assert job.original_filename == "mechanics.csv"
    stored = Path(job.stored_path)
    assert stored.read_bytes() == CSV
    assert stored.parent == Path(app.config["UPLOAD_DIR"])
    assert "static" not in stored.parts and stored.name != "mechanics.csv"
    with app.app_context():
        from bulkapp.extensions import get_redis

        queue = Queue("bulk-upload-mechanics", connection=get_redis())
        assert queue.job_ids == [job.id]
        rq_job = queue.fetch_job(job.id)
        assert rq_job.args == (job.id,) and rq_job.kwargs == {}
        assert rq_job.func_name == "bulkapp.jobs.import_job"


def test_each_entity_type_goes_to_its_own_queue(app, client_a):
    with app.app_context():
        from bulkapp.extensions import get_redis

        connection = get_redis()
    expected = {
        "mechanics": "bulk-upload-mechanics",
        "service-providers": "bulk-upload-service-providers",
        "policies": "bulk-upload-policies",
        "members": "bulk-upload-members",
    }
    for entity, queue_name in expected.items():
        assert upload(client_a, entity=entity).status_code == 302
        assert Queue(queue_name, connection=connection).count == 1, entity


def test_worker_imports_the_upload_and_the_job_page_shows_the_counts(app, client_a):
    upload(client_a)
    job = only_job(app)
    run_worker(app)
    state = client_a.get(f"/jobs/{job.id}/state").get_json()
    assert state["status"] == "completed"
    assert state["progress"] == 100
    assert state["counts"]["total"] == 2 and state["counts"]["valid"] == 2
    with app.app_context():
        table = ENTITY_TABLES["mechanics"]
        emails = db.session.scalars(select(table.c.email).order_by(table.c.email)).all()
        assert emails == ["jane@example.com", "john@example.com"]
    page = client_a.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "completed" in page and "mechanics.csv" in page
    assert not Path(job.stored_path).exists(), "the upload is deleted once the job ends"


def test_unsupported_file_type_is_refused_with_a_message(app, client_a):
    response = upload(client_a, data=b"\x89PNG....", filename="photo.png")
    assert response.status_code == 400
    assert b"not a supported file type" in response.data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_upload_without_a_file_explains_what_is_missing(client_a):
    token = csrf_token(client_a.get("/upload").get_data(as_text=True))
    response = client_a.post(
        "/upload", data={"csrf_token": token, "entity_type": "mechanics", "mode": "partial"}
    )
    assert response.status_code == 400
    assert b"Choose a file to upload" in response.data


def test_upload_without_csrf_token_is_rejected(app, client_a):
    response = client_a.post(
        "/upload",
        data={"entity_type": "mechanics", "file": (io.BytesIO(CSV), "m.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_another_organisations_job_is_not_found(app, client_a, client_b):
    upload(client_a)
    job = only_job(app)
    assert client_b.get(f"/jobs/{job.id}").status_code == 404
    assert client_b.get(f"/jobs/{job.id}/state").status_code == 404
    assert b"mechanics.csv" not in client_b.get("/jobs").data
    assert client_a.get(f"/jobs/{job.id}").status_code == 200


def test_jobs_page_lists_newest_first(app, client_a):
    upload(client_a, filename="first.csv")
    upload(client_a, filename="second.csv")
    page = client_a.get("/jobs").get_data(as_text=True)
    assert page.index("second.csv") < page.index("first.csv")


def test_upload_when_redis_is_down_keeps_the_job_and_says_it_will_start_later(app, client_a):
    app.extensions["redis"] = app.extensions["redis"].from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=1
    )
    response = upload(client_a)
    assert response.status_code == 302
    job = only_job(app)
    assert job.status == "queued" and job.rq_job_id is None
    assert Path(job.stored_path).read_bytes() == CSV
    page = client_a.get(response.headers["Location"]).get_data(as_text=True)
    assert "processing will start automatically" in page


def test_oversized_upload_gets_a_friendly_413_page(app, client_a):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = upload(client_a, data=b"a,b\n" + b"x" * 4096)
    assert response.status_code == 413
    assert b"File too large" in response.data
    assert b'<a href="/upload">Back to the upload page</a>' in response.data


def test_the_upload_page_states_the_size_limit_and_takes_a_type_and_mode_to_preselect(client_a):
    page = client_a.get("/upload?entity_type=members&mode=all_or_nothing").get_data(as_text=True)
    assert "Files of up to <strong>50 MB</strong>" in page
    assert '<option selected value="members">' in page
    assert '<option selected value="all_or_nothing">' in page
