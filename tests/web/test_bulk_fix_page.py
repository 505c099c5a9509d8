"""A bulk fix too large for a request on the fix page: queued, its progress shown and
followed (as JSON) while the page refuses edits and sending, then the rows as it left them."""

from __future__ import annotations

from bulkapp.extensions import db
from bulkapp.models import BulkFixRun
from tests.conftest import login, make_account, run_worker
from tests.web.test_fix_page import job_with_rejections, page_token, save


def test_a_large_bulk_fix_runs_on_a_worker_while_the_page_shows_it_and_stays_locked(
    app, client_a, client_b
):
    job_id = job_with_rejections(app, client_a)  # 3 rejected rows
    app.config["BULK_FIX_SYNC_MAX_ROWS"] = 2
    token = page_token(client_a, job_id)
    asked = client_a.post(
        f"/jobs/{job_id}/fix/bulk",
        data={
            "csrf_token": token,
            "action": "replace",
            "bulk_column": "1",
            "find": "Mail",
            "value": "Mailer",
            "scope": "filtered",
        },
    )
    assert asked.status_code == 302
    html = client_a.get(asked.headers["Location"]).get_data(as_text=True)
    assert "3 rows are being changed and checked again by a worker" in html
    assert 'id="fix-bulk-run" data-finished="false"' in html
    assert 'data-editable="false"' in html and 'id="fix-bulk"' not in html
    assert 'id="fix-send"' not in html
    with app.app_context():
        run_id = db.session.query(BulkFixRun.id).scalar()
    state_url = f"/jobs/{job_id}/fix/bulk/{run_id}"
    assert client_a.get(state_url).get_json()["status"] == "queued"

    refused = save(client_a, job_id, 3, {"2": "bad@example.com"}, token)
    assert refused.status_code == 409
    assert "A bulk fix is changing this job's rows" in refused.get_json()["error"]["message"]
    sent = client_a.post(f"/jobs/{job_id}/fix/send", data={"csrf_token": token})
    flashed = client_a.get(sent.headers["Location"]).get_data(as_text=True)
    assert "can be edited and sent again once it ends" in flashed
    colleague = login(app.test_client(), make_account(app, "org-a", "c@a.example").email)
    assert colleague.get(state_url).status_code == 200
    assert client_b.get(state_url).status_code == 404

    run_worker(app)
    state = client_a.get(state_url).get_json()
    assert (state["status"], state["finished"], state["rowsDone"], state["rowsChanged"]) == (
        "completed",
        True,
        3,
        2,  # Mail twice (rows 3 and 4); Away unchanged
    )
    html = client_a.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    assert 'data-finished="true"' in html and "went through 3 rows and changed 2" in html
    assert html.count('value="Mailer"') == 2 and 'data-editable="true"' in html
    assert save(client_a, job_id, 3, {"2": "bad@example.com"}).status_code == 200
