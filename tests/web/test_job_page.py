from bulkapp.extensions import db
from bulkapp.jobs.attempts import run_import
from bulkapp.models import ImportJob
from tests.conftest import uploaded_job_id, web_upload


def upload(client, content: bytes) -> str:
    return uploaded_job_id(web_upload(client, content, "people.csv"))


def test_job_page_shows_stats_warnings_duration_and_the_error_report_link(app, client_a):
    job_id = upload(
        client_a,
        b"firstName,lastName,email,mobile,Shoe size\n"
        b"Ann,Lee,ann@x.com,0821234567,\n"
        b"Bob,Kay,=cmd|' /C calc'!A0,0821234567,\n",
    )
    with app.app_context():
        run_import(job_id)
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="count-invalid">1<' in page and 'id="count-inserted">1<' in page
    assert "Unknown column &#39;Shoe size&#39; was ignored." in page
    assert f'href="/jobs/{job_id}/errors.csv"' in page
    assert 'id="job-duration">' in page and " s</dd>" in page
    assert 'data-stage-time="saving">' in page and "<time datetime=" in page
    state = client_a.get(f"/jobs/{job_id}/state").get_json()
    assert state["has_error_report"] and state["validation_stats"]["warnings"] == 1
    report = client_a.get(f"/jobs/{job_id}/errors.csv").get_data(as_text=True)
    assert "'=cmd|' /C calc'!A0" in report and "email is not a valid e-mail address." in report


def test_a_clean_job_page_hides_the_report_link(app, client_a):
    job_id = upload(client_a, b"firstName,lastName,email,mobile\nAnn,Lee,ann@x.com,0821234567\n")
    with app.app_context():
        run_import(job_id)
        assert db.session.get(ImportJob, job_id).report_path is None
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<p id="job-report" hidden>' in page
