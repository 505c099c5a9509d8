"""Review before commit: the analysis's dry run against stored records, committing and
discarding a review, saved mappings, and reviews that expire — with a real RQ worker."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bulkapp.extensions import db
from bulkapp.jobs.imports import start_import
from bulkapp.jobs.lifecycle import JobActionError, retry_job
from bulkapp.jobs.mappings import (
    MappingNotFound,
    delete_saved_mapping,
    require_saved_mapping,
)
from bulkapp.jobs.review import change_mapping, commit_review, discard_review, expire_reviews
from bulkapp.models import ENTITY_TABLES, ImportJob, ReviewPolicy, SavedMapping, utcnow
from tests.conftest import fetch_job, run_worker, save_mapping

HEADER = "First Name,Surname,E-mail,Cell Number,City,Province,Favourite colour\n"
STORED = (
    "firstName,lastName,email,mobileNumber,city,province\n"
    "Ann,One,ann@example.com,0821000001,Pretoria,Gauteng\n"
    "Ben,Two,ben@example.com,0821000002,Durban,KwaZulu-Natal\n"
    "Cat,Three,cat@example.com,0821000003,Cape Town,Western Cape\n"
    "Dan,Four,dan@example.com,0821000004,Polokwane,Limpopo\n"
)
# Against STORED: Ann and Ben unchanged, Cat and Dan updated, Eve and Fay new, two rows
# with bad e-mails, one with a province nobody knows.
REVIEWED = HEADER + (
    "Ann,One,ann@example.com,0821000001,Pretoria,Gauteng,red\n"
    "Ben,Two,ben@example.com,0821000002,Durban,KwaZulu-Natal,blue\n"
    "Cat,Three,cat@example.com,0821000033,Stellenbosch,Western Cape,green\n"
    "Dan,Four,dan@example.com,0821000004,Musina,Limpopo,red\n"
    "Eve,Five,eve@example.com,0821000005,Pretoria,Gauteng,red\n"
    "Fay,Six,fay@example.com,0821000006,Pretoria,Gauteng,red\n"
    "Gus,Seven,not-an-email,0821000007,Pretoria,Gauteng,red\n"
    "Hal,Eight,also bad,0821000008,Pretoria,Gauteng,red\n"
    "Ivy,Nine,ivy@example.com,0821000009,Pretoria,Atlantis,red\n"
)


def start(app, account, content: str, review=ReviewPolicy.ALWAYS, entity="mechanics", **extra):
    with app.app_context():
        job, _ = start_import(
            user=account.load(),
            entity_type=entity,
            stream=io.BytesIO(content.encode()),
            filename="people.csv",
            review=review,
            **extra,
        )
        return job.id


def stored_mechanics(app) -> dict[str, tuple]:
    table = ENTITY_TABLES["mechanics"]
    with app.app_context():
        rows = db.session.execute(select(table.c.email, table.c.mobile_number, table.c.city))
        return {email: (mobile, city) for email, mobile, city in rows}


@pytest.fixture
def small_chunks(app):
    """Chunks of 4 rows, so a file spans several chunks."""
    app.config["IMPORT_CHUNK_ROWS"] = 4


@pytest.fixture
def stored(app, user_a):
    start(app, user_a, STORED, review=None)
    run_worker(app)
    assert len(stored_mechanics(app)) == 4


def test_the_dry_run_counts_what_the_import_would_do(app, user_a, stored, small_chunks):
    job_id = start(app, user_a, REVIEWED)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.stage, job.phase) == ("needs_review", "review", "analysis")
    analysis = job.analysis
    assert analysis["counts"] == {
        "total": 9,
        "inserted": 2,
        "updated": 2,
        "unchanged": 2,
        "rejected": 3,
    }
    assert analysis["updates"] == [
        {
            "row": 4,
            "key": "cat@example.com",
            "changes": [
                {"field": "mobileNumber", "old": "0821000003", "new": "0821000033"},
                {"field": "city", "old": "Cape Town", "new": "Stellenbosch"},
            ],
        },
        {
            "row": 5,
            "key": "dan@example.com",
            "changes": [{"field": "city", "old": "Polokwane", "new": "Musina"}],
        },
    ]
    reasons = {(r["column"], r["rows"]) for r in analysis["rejections"]}
    assert reasons == {("email", 2), ("province", 1)}
    assert analysis["unknown_values"] == {"province": {"Atlantis": 1}}
    columns = {c["header"]: c for c in analysis["columns"]}
    assert columns["Cell Number"]["chosen"] == "mobile_number"
    assert columns["Cell Number"]["samples"] == ["0821000001", "0821000002", "0821000033"]
    assert columns["Favourite colour"]["chosen"] is None
    assert len(analysis["preview"]["rows"]) == 9
    assert analysis["certain"] is False  # an unknown province
    assert stored_mechanics(app)["cat@example.com"] == ("0821000003", "Cape Town"), "no writes"


POLICIES_STORED = (
    "policyNumber,type,premium,sumInsured\n"
    "P-1,motor,450.50,100000\n"
    "P-2,motor,99.95,\n"
    "P-3,home,1250,\n"
    "P-4,life,10,5000\n"
)
# Against POLICIES_STORED: P-1 and P-3 unchanged (their amounts written another way), P-2 and
# P-4 updated (a cent more; an amount emptied), P-5 and P-6 new, an amount that is no amount
# and P-5 again rejected.
POLICIES_AGAIN = (
    "policyNumber,type,premium,sumInsured\n"
    "P-1,motor,450.5,100000.00\n"
    "P-2,motor,99.96,\n"
    "P-3,home,1250.00,\n"
    "P-4,life,,5000\n"
    "P-5,home,12,\n"
    "P-6,funeral,300,\n"
    "P-7,motor,lots,\n"
    "P-5,home,13,\n"
)


def test_the_import_does_what_its_dry_run_counted(app, user_a, small_chunks):
    start(app, user_a, POLICIES_STORED, review=None, entity="policies")
    run_worker(app)
    job_id = start(app, user_a, POLICIES_AGAIN, entity="policies")
    run_worker(app)
    job = fetch_job(app, job_id)
    assert job.status == "needs_review"
    predicted = job.analysis["counts"]
    assert predicted == {"total": 8, "inserted": 2, "updated": 2, "unchanged": 2, "rejected": 2}
    assert [(u["key"], [c["field"] for c in u["changes"]]) for u in job.analysis["updates"]] == [
        ("P-2", ["premium"]),
        ("P-4", ["premium"]),
    ]
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    job = fetch_job(app, job_id)
    done = (job.total_rows, job.inserted_rows, job.updated_rows, job.unchanged_rows)
    assert (job.status, *done, job.invalid_rows) == ("completed", *predicted.values())


def test_committing_imports_with_the_chosen_mapping_and_remembers_it(app, user_a, stored):
    job_id = start(app, user_a, REVIEWED)
    run_worker(app)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        mapping = {
            "columns": {"Cell Number": "mobile_number", "Favourite colour": None},
            "values": {"province": {"Atlantis": "Western Cape"}},
        }
        change_mapping(job, mapping)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert job.status == "needs_review"
    assert job.analysis["counts"]["rejected"] == 2 and job.analysis["unknown_values"] == {}
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows, job.updated_rows, job.unchanged_rows) == (
        "completed",
        3,
        2,
        2,
    )
    assert stored_mechanics(app)["ivy@example.com"] == ("0821000009", "Pretoria")
    with app.app_context():
        saved = db.session.scalars(select(SavedMapping)).one()
        assert saved.mapping["values"] == {"province": {"Atlantis": "Western Cape"}}
        assert saved.created_by_id == user_a.id
        assert job.saved_mapping_id is None, "the job that saved it applied none"

    # The same headers again: the saved mapping is applied, nobody is asked.
    again = start(app, user_a, REVIEWED, review=ReviewPolicy.SAVED)
    run_worker(app)
    job = fetch_job(app, again)
    assert (job.status, job.phase, job.saved_mapping_id) == ("completed", "import", saved.id)
    assert job.unchanged_rows == 7


def test_a_different_mapping_at_commit_is_analysed_first(app, user_a):
    job_id = start(app, user_a, REVIEWED)
    run_worker(app)
    with app.app_context():
        job = commit_review(
            db.session.get(ImportJob, job_id),
            user_a.load(),
            {"columns": {"Cell Number": None}, "values": {}},
        )
        assert (job.status, job.phase) == ("queued", "analysis")
    run_worker(app)
    job = fetch_job(app, job_id)
    assert job.status == "needs_review" and "mobileNumber" in job.analysis["problem"]
    with app.app_context(), pytest.raises(JobActionError) as refused:
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    assert refused.value.code == "mapping_incomplete"


def test_discarding_cancels_and_removes_the_upload(app, user_a):
    job_id = start(app, user_a, REVIEWED)
    run_worker(app)
    path = Path(fetch_job(app, job_id).stored_path)
    with app.app_context():
        with pytest.raises(JobActionError) as not_now:
            retry_job(db.session.get(ImportJob, job_id))
        assert (not_now.value.code, not_now.value.status) == ("job_in_review", 409)
        job = discard_review(db.session.get(ImportJob, job_id), None)
        assert (job.status, job.stored_path) == ("canceled", None)
        with pytest.raises(JobActionError) as refused:
            discard_review(job, None)
        assert refused.value.status == 409
    assert not path.exists() and stored_mechanics(app) == {}


def test_reviews_nobody_finishes_expire(app, user_a):
    job_id = start(app, user_a, REVIEWED)
    fresh = start(app, user_a, REVIEWED)
    run_worker(app)
    path = Path(fetch_job(app, job_id).stored_path)
    with app.app_context():
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(updated_at=utcnow() - timedelta(hours=73))
        )
        db.session.commit()
        assert expire_reviews() == 1
    job = fetch_job(app, job_id)
    assert (job.status, job.stored_path) == ("canceled", None) and "in time" in job.error_message
    assert not path.exists() and fetch_job(app, fresh).status == "needs_review"


def test_the_entity_type_is_detected_from_the_headers(app, user_a):
    job_id = start(app, user_a, REVIEWED, entity="detect")
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.entity_type, job.status) == ("mechanics", "needs_review")
    assert job.analysis["fits"][0]["name"] == "mechanics"


def test_a_certain_file_goes_straight_on_when_the_user_asked(app, user_a):
    certain = (
        HEADER.replace(",Favourite colour", "")
        + "Eve,Five,eve@example.com,0821000005,Pretoria,Gauteng\n"
    )
    job_id = start(app, user_a, certain, review=ReviewPolicy.CERTAIN)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows) == ("completed", 1)
    assert job.analysis["counts"]["inserted"] == 1


def test_saved_mappings_are_scoped_to_the_organisation(app, user_a, admin_a, user_b):
    saved_id = save_mapping(app, user_a.organisation_id)
    with app.app_context():
        with pytest.raises(MappingNotFound):
            require_saved_mapping(user_b.load(), saved_id)
        with pytest.raises(MappingNotFound):
            delete_saved_mapping(user_b.load(), saved_id)
        with pytest.raises(JobActionError):
            delete_saved_mapping(user_a.load(), saved_id)
        delete_saved_mapping(admin_a.load(), saved_id)
        assert db.session.scalars(select(SavedMapping)).all() == []


def test_a_file_without_data_rows_fails_its_analysis_saying_so(app, user_a):
    job_id = start(app, user_a, HEADER)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.phase) == ("failed", "analysis")
    assert "no data rows" in job.error_message
