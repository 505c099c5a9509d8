"""The admin monitor, the job actions and rq-dashboard, through the web."""

import re
from datetime import timedelta

import pytest
from rq import Queue

from bulkapp.extensions import db, get_redis
from bulkapp.jobs import metrics
from bulkapp.models import ImportJob, utcnow
from tests.conftest import csrf_token, login, make_account, run_worker, uploaded_job_id, web_upload

CSV = b"firstName,lastName,email,mobileNumber\nJohn,Doe,john@example.com,0821234567\n"


def upload(client, filename="mechanics.csv", data=CSV) -> str:
    return uploaded_job_id(web_upload(client, data, filename))


def set_job(app, job_id: str, **fields) -> None:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        for name, value in fields.items():
            setattr(job, name, value)
        db.session.commit()


def post_form(client, page_url: str, action: str, **data):
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


@pytest.fixture
def admin_client(app, admin_a):
    return login(app.test_client(), admin_a.email)


@pytest.fixture
def super_client(app, super_admin):
    return login(app.test_client(), super_admin.email)


# -- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/monitor.json", "/admin/rq/", "/admin/rq/0/data/queues.json"]
)
def test_members_get_404_on_the_monitor_and_rq_dashboard(client_a, path):
    assert client_a.get(path).status_code == 404
    assert b"Admin</a>" not in client_a.get("/jobs").data


def test_signed_out_visitors_are_sent_to_sign_in(app):
    response = app.test_client().get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_organisation_admins_see_their_organisation_only_and_no_rq_dashboard(
    admin_client, client_a, client_b
):
    upload(client_a, "ours.csv")
    upload(client_b, "theirs.csv")
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "ours.csv" in page and "theirs.csv" not in page
    assert "Workers" not in page and "rq-dashboard" not in page
    figures = admin_client.get("/admin/monitor.json").get_json()
    assert figures["scope"] == "organisation" and figures["workers"] is None
    assert figures["queues"]["bulk-upload-mechanics"]["waiting"] == 1
    assert admin_client.get("/admin/rq/").status_code == 404


def test_super_admins_see_every_organisation_workers_and_redis_figures(
    super_client, client_a, client_b
):
    upload(client_a, "ours.csv")
    upload(client_b, "theirs.csv")
    page = super_client.get("/admin/").get_data(as_text=True)
    assert "ours.csv" in page and "theirs.csv" in page and "Workers" in page
    assert re.search(r'data-stat="bulk-upload-mechanics\|waiting">2<', page)
    assert '<svg class="chart"' in page
    figures = super_client.get("/admin/monitor.json").get_json()
    assert figures["scope"] == "all" and figures["totals"]["waiting"] == 2
    assert figures["workers"] == []


def test_the_monitor_page_has_no_inline_script_or_style(super_client):
    page = super_client.get("/admin/").get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page and "<style" not in page
    assert re.search(r'<script src="/static/monitor.js">', page)


def test_live_figures_include_the_progress_of_visible_jobs_only(
    app, admin_client, client_a, client_b
):
    ours, theirs = upload(client_a), upload(client_b)
    set_job(app, ours, status="processing", progress=40, processed_rows=400, total_rows=1000)
    figures = admin_client.get(f"/admin/monitor.json?jobs={ours},{theirs}").get_json()
    assert set(figures["jobs"]) == {ours}
    assert figures["jobs"][ours]["progress"] == 40 and figures["jobs"][ours]["processed"] == 400


def test_chart_shows_the_rolled_up_history_for_24_hours_7_days_and_90_days(
    app, super_client, client_a
):
    done, broken = upload(client_a), upload(client_a)
    now = utcnow()
    set_job(app, done, status="completed", started_at=now, finished_at=now)
    set_job(app, broken, status="failed", started_at=now, finished_at=now - timedelta(hours=2))
    with app.app_context():
        for hours_ago in range(3):
            metrics.roll_up(now - timedelta(hours=hours_ago))
    page = super_client.get("/admin/").get_data(as_text=True)
    assert page.count('class="bar-ok"') == 24
    assert re.search(r'class="bar-ok"[^>]*data-count="1"', page)
    assert re.search(r'class="bar-bad"[^>]*data-count="1"', page)
    assert '<th scope="row">bulk-upload-mechanics</th>' in page
    week = super_client.get("/admin/?period=7d").get_data(as_text=True)
    assert week.count('class="bar-ok"') == 28 and "last 7 days" in week
    assert (
        super_client.get("/admin/?period=90d").get_data(as_text=True).count('class="bar-ok"') == 90
    )
    assert "last 24 hours" in super_client.get("/admin/?period=forever").get_data(as_text=True)


# -- the jobs table -----------------------------------------------------------------------


def test_jobs_table_filters_by_status_entity_user_date_and_searches(
    app, super_client, client_a, client_b, user_b
):
    first = upload(client_a, "first-batch.csv")
    upload(client_a, "second-batch.csv")
    upload(client_b, "other.csv")
    set_job(app, first, status="failed")

    def listed(query):
        page = super_client.get(f"/admin/?{query}").get_data(as_text=True)
        return sorted(re.findall(r">([\w-]+\.csv)</a>", page))

    assert listed("status=failed") == ["first-batch.csv"]
    assert listed("q=batch") == ["first-batch.csv", "second-batch.csv"]
    assert listed("q=t-b") == ["first-batch.csv"]
    assert listed("q=%25") == [] and listed("q=_") == [], "wildcards are searched literally"
    assert listed(f"q={first}") == ["first-batch.csv"]
    assert listed(f"user={user_b.id}") == ["other.csv"]
    assert listed(f"organisation={user_b.organisation_id}") == ["other.csv"]
    assert listed("entity=members") == []
    assert listed(f"date_from={(utcnow() + timedelta(days=1)).date()}") == []
    assert len(listed(f"date_to={utcnow().date()}")) == 3
    bad = super_client.get("/admin/?date_from=yesterday&status=sleeping")
    assert bad.status_code == 200
    assert "must be a date" in bad.get_data(as_text=True)
    assert "Unknown status" in bad.get_data(as_text=True)


def test_jobs_table_paginates_and_keeps_filters(app, super_client, client_a):
    for number in range(27):
        upload(client_a, f"file-{number:02d}.csv")
    first = super_client.get("/admin/?q=file").get_data(as_text=True)
    assert "Page 1 of 2" in first and "27 jobs" in first
    assert 'href="/admin/?page=2&amp;q=file"' in first
    second = super_client.get("/admin/?page=2&q=file").get_data(as_text=True)
    assert second.count("data-job-id=") == 2


# -- actions -------------------------------------------------------------------------------


def test_the_uploader_cancels_a_waiting_job_from_its_page(app, client_a):
    job_id = upload(client_a)
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="cancel-job"' in page and f'action="/jobs/{job_id}/cancel"' in page
    response = post_form(client_a, f"/jobs/{job_id}", f"/jobs/{job_id}/cancel")
    assert response.status_code == 302
    page = client_a.get(response.headers["Location"]).get_data(as_text=True)
    assert "The job was canceled." in page
    assert client_a.get(f"/jobs/{job_id}/state").get_json()["status"] == "canceled"


def test_actions_need_a_csrf_token(app, client_a):
    job_id = upload(client_a)
    assert client_a.post(f"/jobs/{job_id}/cancel").status_code == 400
    assert client_a.get(f"/jobs/{job_id}/state").get_json()["status"] == "queued"


def test_a_colleague_sees_the_job_but_gets_403_and_another_organisation_404(
    app, client_a, client_b
):
    job_id = upload(client_a)
    colleague = make_account(app, "org-a", "colleague@a.example")
    colleague_client = login(app.test_client(), colleague.email)
    page = colleague_client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="cancel-job"' not in page
    assert post_form(colleague_client, "/upload", f"/jobs/{job_id}/cancel").status_code == 403
    assert post_form(client_b, "/upload", f"/jobs/{job_id}/cancel").status_code == 404
    assert post_form(client_b, "/upload", f"/jobs/{job_id}/retry").status_code == 404


def test_cancel_of_a_finished_job_explains_why_not(app, client_a):
    job_id = upload(client_a)
    run_worker(app)
    response = post_form(client_a, f"/jobs/{job_id}", f"/jobs/{job_id}/cancel")
    page = client_a.get(response.headers["Location"]).get_data(as_text=True)
    assert "already completed" in page


def test_an_admin_retries_a_failed_job_from_the_jobs_table(app, admin_client, client_a):
    job_id = upload(client_a)
    set_job(app, job_id, status="failed", error_message="boom", error_traceback="Traceback: boom")
    table = admin_client.get("/admin/?status=failed").get_data(as_text=True)
    assert f'action="/jobs/{job_id}/retry"' in table
    response = post_form(
        admin_client, "/admin/", f"/jobs/{job_id}/retry", next="/admin/?status=failed"
    )
    assert response.headers["Location"] == "/admin/?status=failed"
    assert client_a.get(f"/jobs/{job_id}/state").get_json()["status"] == "queued"
    run_worker(app)
    assert client_a.get(f"/jobs/{job_id}/state").get_json()["status"] == "completed"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t\\evil.example/"]
)
def test_an_action_never_sends_the_browser_to_another_site(app, client_a, target):
    job_id = upload(client_a)
    response = post_form(client_a, f"/jobs/{job_id}", f"/jobs/{job_id}/cancel", next=target)
    assert response.headers["Location"] == f"/jobs/{job_id}"


def test_only_admins_see_the_traceback_and_everyone_allowed_sees_attempts(
    app, admin_client, client_a
):
    job_id = upload(client_a)
    set_job(
        app,
        job_id,
        status="failed",
        error_traceback="Traceback: boom",
        phase="import",
        attempts=4,
        stage_timings={"parsing": 0.5, "saving": 75.0},
    )
    owner_page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    admin_page = admin_client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="job-attempts">4<' in owner_page and "1 min 15 s" in owner_page
    assert "Traceback: boom" not in owner_page and "Traceback: boom" in admin_page


def test_retry_all_failed_and_clean_old_jobs_from_the_monitor(
    app, admin_client, client_a, client_b
):
    ours, theirs, old = upload(client_a), upload(client_b), upload(client_a)
    set_job(app, ours, status="failed")
    set_job(app, theirs, status="failed")
    set_job(app, old, status="completed", finished_at=utcnow() - timedelta(days=3))
    response = post_form(admin_client, "/admin/", "/admin/bulk/retry?status=failed")
    assert "1 job retried." in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert client_b.get(f"/jobs/{theirs}/state").get_json()["status"] == "failed"

    response = post_form(admin_client, "/admin/", "/admin/clean", grace_hours="24")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cleaned 1 job(s): 1 upload(s)" in page
    response = post_form(admin_client, "/admin/", "/admin/clean", grace_hours="soon")
    assert "must be a number of hours" in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )


# -- rq-dashboard ---------------------------------------------------------------------------


def test_rq_dashboard_renders_for_super_admins_with_its_own_csp(super_client):
    response = super_client.get("/admin/rq/")
    assert response.status_code == 200
    assert '<a id="back-to-monitor" href="/admin/">' in response.get_data(as_text=True)
    assert "'unsafe-eval'" in response.headers["Content-Security-Policy"]
    assert super_client.get("/admin/rq/0/data/queues.json").status_code == 200
    assert "'unsafe-inline'" not in super_client.get("/admin/").headers["Content-Security-Policy"]


def test_rq_dashboard_requeue_is_not_usable_cross_site(app, super_client, client_a):
    job_id = upload(client_a)
    with app.app_context():
        queue = Queue("bulk-upload-mechanics", connection=get_redis())
    assert super_client.get("/admin/rq/requeue/bulk-upload-mechanics").status_code == 405
    cross_site = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    assert (
        super_client.post("/admin/rq/requeue/bulk-upload-mechanics", headers=cross_site).status_code
        == 403
    )
    assert (
        super_client.post(
            f"/admin/rq/job/{job_id}/delete", headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert super_client.post(f"/admin/rq/job/{job_id}/delete").status_code == 403
    assert queue.job_ids == [job_id]
    same_origin = super_client.post(
        "/admin/rq/requeue/bulk-upload-mechanics", headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert same_origin.status_code == 200 and same_origin.get_json()["status"] == "OK"
    deleted = super_client.post(
        f"/admin/rq/job/{job_id}/delete", headers={"Origin": "http://localhost"}
    )
    assert deleted.get_json()["status"] == "OK" and queue.job_ids == []


def test_an_action_returns_to_the_monitor_on_this_site_whatever_the_query_says(app, super_admin):
    client = login(app.test_client(), super_admin.email)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    response = client.post(
        "/admin/bulk/retry?status=failed&_external=1&_scheme=javascript&_anchor=x",
        data={"csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/?status=failed"


# -- failures by cause and bulk actions on the filter -----------------------------------------


def fail(app, job_id: str, kind: str, message: str) -> None:
    set_job(
        app, job_id, status="failed", failure_kind=kind, error_message=message, finished_at=utcnow()
    )


def test_failures_are_grouped_by_cause_with_a_retry_only_where_it_can_help(
    app, admin_client, client_a, client_b
):
    for _ in range(3):
        fail(app, upload(client_a), "database", "OperationalError: the database went away")
    fail(app, upload(client_a), "columns", "Missing required column(s): email.")
    fail(app, upload(client_b), "database", "another organisation's outage")
    page = admin_client.get("/admin/").get_data(as_text=True)
    groups = re.findall(
        r'<li data-cause="(\w+)">.*?class="group-count">([\d,]+) jobs?<', page, re.S
    )
    assert groups == [("database", "3"), ("columns", "1")], "largest first, own organisation only"
    assert "database unavailable" in page and "missing or duplicate columns" in page
    assert "Missing required column(s): email." in page
    assert "/admin/bulk/retry?status=failed&amp;cause=database" in page
    assert "/admin/bulk/retry?status=failed&amp;cause=columns" not in page, "needs a new file"
    assert "/admin/bulk/clean?status=failed&amp;cause=columns" in page


def test_a_bulk_action_confirms_the_count_then_acts_on_the_filter_in_the_own_organisation_only(
    app, client_a, client_b
):
    province = make_account(app, "org-a", "province@a.example", "province_admin")
    admin_client = login(app.test_client(), province.email)
    ours = [upload(client_a, filename=f"ours-{i}.csv") for i in range(3)]
    theirs = upload(client_b, filename="ours-theirs.csv")
    other = upload(client_a, filename="other.csv")
    for job_id in (*ours, theirs, other):
        fail(app, job_id, "database", "the database went away")
    fail(app, ours[2], "empty_file", "ours-2.csv is empty")

    confirm = admin_client.get("/admin/bulk/retry?q=ours").get_data(as_text=True)
    assert "Retry 2 jobs?" in confirm and "q: ours" in confirm
    response = post_form(admin_client, "/admin/bulk/retry?q=ours", "/admin/bulk/retry?q=ours")
    assert response.headers["Location"] == "/admin/?q=ours"
    assert "2 jobs retried." in admin_client.get("/admin/?q=ours").get_data(as_text=True)
    states = {
        job_id: client.get(f"/jobs/{job_id}/state").get_json()["status"]
        for client, job_id in [
            (client_a, ours[0]),
            (client_a, ours[1]),
            (client_a, ours[2]),
            (client_b, theirs),
            (client_a, other),
        ]
    }
    assert states == {
        ours[0]: "queued",
        ours[1]: "queued",
        ours[2]: "failed",
        theirs: "failed",
        other: "failed",
    }

    response = post_form(admin_client, "/admin/", "/admin/bulk/cancel?q=ours")
    assert "2 jobs canceled." in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert client_a.get(f"/jobs/{ours[0]}/state").get_json()["status"] == "canceled"
    assert client_b.get(f"/jobs/{theirs}/state").get_json()["status"] == "failed"

    with app.app_context():
        organisation_b = db.session.get(ImportJob, theirs).organisation_id
    post_form(admin_client, "/admin/", f"/admin/bulk/retry?organisation={organisation_b}")
    assert client_b.get(f"/jobs/{theirs}/state").get_json()["status"] == "failed", (
        "another organisation's filter means nothing to a province admin"
    )

    response = post_form(admin_client, "/admin/", "/admin/bulk/clean?q=ours")
    assert "3 jobs cleaned." in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(ImportJob, theirs).stored_path, "another organisation's file stays"
        assert db.session.get(ImportJob, ours[0]).stored_path is None


def test_a_super_admin_bulk_action_can_span_organisations_or_one(
    app, super_admin, client_a, client_b
):
    client = login(app.test_client(), super_admin.email)
    a, b = upload(client_a), upload(client_b)
    with app.app_context():
        organisation_b = db.session.get(ImportJob, b).organisation_id
    assert "Cancel 2 jobs?" in client.get("/admin/bulk/cancel").get_data(as_text=True)
    post_form(client, "/admin/", f"/admin/bulk/cancel?organisation={organisation_b}")
    assert client_a.get(f"/jobs/{a}/state").get_json()["status"] == "queued"
    assert client_b.get(f"/jobs/{b}/state").get_json()["status"] == "canceled"
