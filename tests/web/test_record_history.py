"""A record's history on its page: the import that added it, then each import that changed
it, field by field, with who uploaded which file and when."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from bulkapp.extensions import db
from bulkapp.jobs.attempts import run_import
from bulkapp.jobs.maintenance import nightly_clean_up
from bulkapp.jobs.undo import request_undo
from bulkapp.models import ImportJob, utcnow
from tests.conftest import run_worker, uploaded_job_id, web_upload
from tests.records.conftest import add_records, mechanic

HEADER = b"firstName,lastName,email,mobileNumber,city,yearsExperience\n"


def imported(app, client, filename: str, rows: bytes) -> str:
    """Upload ``rows`` of mechanics as ``filename`` and import them; the job id."""
    job_id = uploaded_job_id(web_upload(client, HEADER + rows, filename))
    with app.app_context():
        run_import(job_id)
    return job_id


def entries(html: str) -> list[tuple[str, str]]:
    """The history's entries on a record page: (action, the file named), newest first."""
    return re.findall(
        r'<li data-action="(\w+)">\s*<p><strong>\w+</strong>\s*by <a [^>]+>([^<]+)</a>', html
    )


def test_history_lists_the_adding_import_then_each_change_field_by_field(app, client_a, user_a):
    first = imported(
        app,
        client_a,
        "first.csv",
        b"Ann,Lee,ann@x.com,0821234567,Pretoria,3\nBob,Kay,bob@x.com,0831234567,Durban,4\n",
    )
    second = imported(app, client_a, "second.csv", b"Ann,Lee,ann@x.com,0821234567,Durban,4\n")
    unchanged = imported(app, client_a, "third.csv", b"Ann,Lee,ann@x.com,0821234567,Durban,4\n")
    page = client_a.get("/records/mechanics/ann@x.com").get_data(as_text=True)
    assert entries(page) == [("updated", "second.csv"), ("inserted", "first.csv")]
    assert f'href="/jobs/{second}"' in page and f'href="/jobs/{first}"' in page
    assert f'href="/jobs/{unchanged}"' not in page  # it changed nothing
    changed = re.findall(
        r'<tr data-field="(\w+)"><td>[^<]+</td>\s*<td class="change-old">([^<]*)</td>\s*'
        r'<td class="change-new">([^<]*)</td>',
        page,
    )
    assert changed == [("yearsExperience", "3", "4"), ("city", "Pretoria", "Durban")]
    assert "<td>Years experience</td>" in page  # the field's title; its name in data-field
    assert f"uploaded by {user_a.email}" in page
    other = client_a.get("/records/mechanics/bob@x.com").get_data(as_text=True)
    assert entries(other) == [("inserted", "first.csv")]


def test_history_after_the_change_log_is_forgotten_keeps_who_added_it(app, client_a):
    first = imported(app, client_a, "first.csv", b"Ann,Lee,ann@x.com,0821234567,Pretoria,3\n")
    imported(app, client_a, "second.csv", b"Ann,Lee,ann@x.com,0821234567,Durban,3\n")
    with app.app_context():
        long_ago = utcnow() - timedelta(hours=app.config["JOB_RETENTION_HOURS"] + 1)
        db.session.execute(update(ImportJob).values(finished_at=long_ago))
        db.session.commit()
        nightly_clean_up()
    page = client_a.get("/records/mechanics/ann@x.com").get_data(as_text=True)
    assert entries(page) == [("inserted", "first.csv")]
    assert f'href="/jobs/{first}"' in page


def test_a_record_added_before_the_change_log_says_so(app, client_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    page = client_a.get("/records/mechanics/joan.1@example.com").get_data(as_text=True)
    assert '<li data-action="inserted">' in page and "by an import no longer on record" in page


def test_another_organisations_record_history_is_404(app, client_a, client_b):
    imported(app, client_a, "first.csv", b"Ann,Lee,ann@x.com,0821234567,Pretoria,3\n")
    assert client_b.get("/records/mechanics/ann@x.com").status_code == 404


def test_an_undo_is_listed_with_the_values_it_gave_back(app, client_a, user_a):
    imported(app, client_a, "first.csv", b"Ann,Lee,ann@x.com,0821234567,Pretoria,3\n")
    second = imported(app, client_a, "second.csv", b"Ann,Lee,ann@x.com,0821234567,Durban,4\n")
    with app.app_context():
        undo = request_undo(db.session.get(ImportJob, second), user_a.load()).id
    run_worker(app)
    page = client_a.get("/records/mechanics/ann@x.com").get_data(as_text=True)
    assert entries(page) == [
        ("undone", "the undo of second.csv"),
        ("updated", "second.csv"),
        ("inserted", "first.csv"),
    ]
    assert f'href="/jobs/{undo}"' in page and "<strong>Undone</strong>" in page
    undone = page[page.index('data-action="undone"') : page.index('data-action="updated"')]
    assert re.findall(
        r'<tr data-field="(\w+)"><td>[^<]+</td>\s*<td class="change-old">([^<]*)</td>\s*'
        r'<td class="change-new">([^<]*)</td>',
        undone,
    ) == [("yearsExperience", "4", "3"), ("city", "Durban", "Pretoria")]
