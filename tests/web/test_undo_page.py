"""Undo on the pages: the job page offers it (until when), the confirm page shows what it will
do and the kept records with the upload that changed them, the POST queues the undo's own job,
and both jobs link to each other; someone else's organisation gets 404s, a colleague who did
not upload the file a 403, and a validate-only job nothing to undo."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from bulkapp.extensions import db
from bulkapp.jobs.attempts import run_import
from bulkapp.models import ImportJob, utcnow
from tests.conftest import csrf_token, login, make_account, run_worker, uploaded_job_id, web_upload

HEADER = b"firstName,lastName,email,mobileNumber,city\n"


def imported(app, client, filename: str, rows: bytes, mode: str = "partial") -> str:
    job_id = uploaded_job_id(web_upload(client, HEADER + rows, filename, mode=mode))
    with app.app_context():
        run_import(job_id)
    return job_id


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def count(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1)


def test_an_import_is_undone_from_its_page_after_a_confirm_page(app, client_a):
    first = imported(
        app,
        client_a,
        "a.csv",
        b"Ann,Lee,ann@x.com,0821234567,Pretoria\nBob,Kay,bob@x.com,0831234567,Durban\n",
    )
    second = imported(
        app,
        client_a,
        "b.csv",
        b"Ann,Lee,ann@x.com,0821234567,Cape Town\nCat,Moe,cat@x.com,0841234567,Durban\n",
    )
    job_page = page(client_a, f"/jobs/{second}")
    assert 'id="undo-job"' in job_page and "can be undone until" in job_page
    confirm = page(client_a, f"/jobs/{second}/undo")
    assert [count(confirm, f"undo-{n}") for n in ("removed", "restored", "kept")] == ["1", "1", "0"]
    assert 'id="undo-conflicts"' not in confirm

    earlier = page(client_a, f"/jobs/{first}/undo")
    assert [count(earlier, f"undo-{n}") for n in ("removed", "restored", "kept")] == ["1", "0", "1"]
    assert 'data-key="ann@x.com"' in earlier and f'href="/jobs/{second}"' in earlier
    assert "kept: changed by" in earlier and "(b.csv)" in earlier

    assert client_a.post(f"/jobs/{second}/undo").status_code == 400  # no CSRF token
    response = client_a.post(f"/jobs/{second}/undo", data={"csrf_token": csrf_token(confirm)})
    assert response.status_code == 302
    undo = response.headers["Location"].rsplit("/", 1)[-1]
    assert undo != second
    run_worker(app)
    undo_page = page(client_a, f"/jobs/{undo}")
    assert f'id="job-undoes-link" href="/jobs/{second}"' in undo_page
    assert [count(undo_page, f"count-{n}") for n in ("removed", "restored", "kept")] == [
        "1",
        "1",
        "0",
    ]
    undone = page(client_a, f"/jobs/{second}")
    assert f'id="job-undone-link" href="/jobs/{undo}"' in undone
    assert 'id="undo-job"' not in undone
    assert count(undone, "undone-removed") == "1" and count(undone, "undone-restored") == "1"
    listed = page(client_a, "/jobs")
    assert f'href="/jobs/{undo}">undone</a>' in listed and "Undo of" in listed

    again = client_a.post(
        f"/jobs/{second}/undo", data={"csrf_token": csrf_token(undone)}, follow_redirects=True
    )
    assert "undone at most once" in again.get_data(as_text=True)
    assert client_a.get(f"/jobs/{second}/undo").status_code == 409


def test_undo_is_the_uploaders_or_an_admins_and_only_of_an_import_that_stored_rows(
    app, client_a, client_b, admin_a
):
    job = imported(app, client_a, "a.csv", b"Ann,Lee,ann@x.com,0821234567,Pretoria\n")
    assert client_b.get(f"/jobs/{job}/undo").status_code == 404
    token = csrf_token(page(client_b, "/jobs"))
    assert client_b.post(f"/jobs/{job}/undo", data={"csrf_token": token}).status_code == 404
    colleague = make_account(app, "org-a", "colleague@a.example")
    other = login(app.test_client(), colleague.email)
    assert 'id="undo-job"' not in page(other, f"/jobs/{job}")
    assert other.get(f"/jobs/{job}/undo").status_code == 403
    assert page(login(app.test_client(), admin_a.email), f"/jobs/{job}/undo")

    checked = imported(
        app, client_a, "v.csv", b"Bob,Kay,bob@x.com,0831234567,Durban\n", mode="validate_only"
    )
    assert 'id="job-undo"' not in page(client_a, f"/jobs/{checked}")
    refused = client_a.get(f"/jobs/{checked}/undo")
    assert refused.status_code == 409 and "nothing to undo" in refused.get_data(as_text=True)

    with app.app_context():
        hours = app.config["JOB_RETENTION_HOURS"]
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job)
            .values(finished_at=utcnow() - timedelta(hours=hours + 1))
        )
        db.session.commit()
    expired = page(client_a, f"/jobs/{job}")
    assert "can no longer be undone" in expired and 'id="undo-job"' not in expired


def test_a_super_admins_kept_records_open_in_the_imports_organisation(app, client_a, super_admin):
    first = imported(app, client_a, "a.csv", b"Ann,Lee,ann@x.com,0821234567,Pretoria\n")
    imported(app, client_a, "b.csv", b"Ann,Lee,ann@x.com,0821234567,Cape Town\n")
    client = login(app.test_client(), super_admin.email)
    confirm = page(client, f"/jobs/{first}/undo")
    link = re.search(r'<a href="(/records/mechanics/[^"]+)">ann@x.com</a>', confirm)
    assert link, confirm
    record = page(client, link.group(1).replace("&amp;", "&"))
    assert "ann@x.com" in record and "Cape Town" in record
