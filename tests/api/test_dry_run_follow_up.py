"""The follow-up of a validate-only job: its fixed rows alone would be half its file, so
"send" imports the whole file, each fixed row read as fixed, and stores it."""

from __future__ import annotations

from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES, ImportJob, RejectedRow
from tests.api.test_fixes_api import BAD, GOOD, edit, rejected
from tests.conftest import run_worker


def test_sending_the_fixes_of_a_dry_run_imports_the_whole_file_with_them(app, api_a):
    response = api_a.post("/bulk-upload/mechanics?mode=validate_only", json=GOOD + BAD)
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["data"]["jobId"]
    run_worker(app)
    numbers = [row["row"] for row in rejected(api_a, job_id)["rows"]]
    assert len(numbers) == 4
    assert edit(api_a, job_id, numbers[0], {"email": "bad@example.com"}).status_code == 200

    sent = api_a.post(f"/bulk-upload/{job_id}/resubmit")
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["data"]["sentRows"] == 1
    follow_up_id = sent.get_json()["data"]["jobId"]
    run_worker(app)
    with app.app_context():
        follow_up = db.session.get(ImportJob, follow_up_id)
        assert (follow_up.mode, follow_up.status, follow_up.fixes_job_id) == (
            "partial",
            "completed",
            job_id,
        )
        # the 2 good rows and the fixed one; the other 3 bad rows are rejected again
        assert (follow_up.total_rows, follow_up.inserted_rows, follow_up.invalid_rows) == (6, 3, 3)
        emails = set(db.session.scalars(select(ENTITY_TABLES["mechanics"].c.email)))
        assert emails == {"john@example.com", "jane@example.com", "bad@example.com"}
        kept = db.session.scalar(
            select(func.count()).where(RejectedRow.import_job_id == follow_up_id)
        )
        assert kept == 3, "the fixes it carried are gone once it completed; its own rows stay"
    assert rejected(api_a, job_id)["counts"] == {"invalid": 3, "fixed": 0, "sent": 1}
    assert [row["row"] for row in rejected(api_a, follow_up_id)["rows"]] == numbers[1:]
    again = api_a.post(f"/bulk-upload/{job_id}/resubmit")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "nothing_to_send"
