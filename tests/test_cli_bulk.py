import json

from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.jobs.state import JobState, iso_timestamp
from bulkapp.models import ENTITY_TABLES, ImportJob
from tests.conftest import BOTH_FILE_STORES, make_account

HEADER = "First Name,Surname,E-mail,Cell\n"


def write(tmp_path, content: str, name: str = "mechanics.csv"):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["bulk", "import", *args])


def test_bulk_import_runs_inline_and_prints_the_job_state_last(app, tmp_path):
    account = make_account(app, "org-a", "member@a.example")
    path = write(
        tmp_path, HEADER + "Ann,Lee,ann@x.com,0821234567\nBob,Bad,not-an-email,0821234567\n"
    )
    result = invoke(app, "mechanics", str(path), "--org", "org-a", "--json")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "mechanics.csv: completed" in lines[0]
    assert "2 total, 1 valid, 1 invalid" in result.output
    state = json.loads(lines[-1])
    assert set(state) == set(JobState.__annotations__)
    assert state["status"] == "completed" and state["entity_type"] == "mechanics"
    assert state["validation_stats"] == {
        "total": 2,
        "valid": 1,
        "invalid": 1,
        "duplicates": 0,
        "warnings": 0,
    }
    assert state["database_stats"]["inserted"] == 1 and state["counts"]["inserted"] == 1
    assert state["processing_duration_ms"] >= 0 and state["has_error_report"] is True
    assert state["error_message"] is None and state["queue_name"] is None
    assert path.exists(), "the user's own file is left alone"
    with app.app_context():
        job = db.session.scalar(select(ImportJob))
        assert job.user_id is None and job.organisation_id == account.organisation_id
        assert state["id"] == job.id and f"(job {job.id})" in lines[0]
        assert state["finished_at"] == iso_timestamp(job.finished_at)
        table = ENTITY_TABLES["mechanics"]
        assert db.session.scalar(select(func.count()).select_from(table)) == 1


@BOTH_FILE_STORES
def test_bulk_import_says_where_the_error_report_is(app, tmp_path, file_store):
    make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, HEADER + "Bob,Bad,not-an-email,0821234567\n")
    result = invoke(app, "mechanics", str(path), "--org", "org-a")
    with app.app_context():
        job = db.session.scalar(select(ImportJob))
    assert (
        f"Error report: download it from /jobs/{job.id}/errors.csv or GET "
        f"/api/v1/bulk-upload/{job.id}/errors (or import with --report FILE)\n" in result.output
    )


def test_bulk_import_writes_the_error_report_where_asked(app, tmp_path):
    make_account(app, "org-a", "member@a.example")
    path = write(
        tmp_path, HEADER + "Ann,Lee,ann@x.com,0821234567\n=Bob,Bad,not-an-email,0821234567\n"
    )
    report = tmp_path / "out" / "errors.csv"
    report.parent.mkdir()
    result = invoke(app, "mechanics", str(path), "--org", "org-a", "--report", str(report))
    assert f"Error report: {report}\n" in result.output
    assert report.read_bytes().decode("utf-8-sig").splitlines() == [
        "row,First Name,Surname,E-mail,Cell,errors",
        "3,'=Bob,Bad,not-an-email,0821234567,email is not a valid e-mail address.",
    ]


def test_bulk_import_validate_only_writes_nothing(app, tmp_path):
    make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, HEADER + "Ann,Lee,ann@x.com,0821234567\n")
    result = invoke(
        app, "mechanics", str(path), "--org", "org-a", "--mode", "validate_only", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["database_stats"]["inserted"] == 0


def test_a_failed_import_exits_non_zero_with_the_reason(app, tmp_path):
    make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, "First Name,E-mail\nAnn,ann@x.com\n")
    result = invoke(app, "mechanics", str(path), "--org", "org-a", "--json")
    assert result.exit_code == 1
    state = json.loads(result.output.strip().splitlines()[-1])
    assert state["status"] == "failed" and state["finished"] is True
    assert "Missing required column(s): lastName, mobileNumber" in state["error_message"]
    assert "Missing required column(s): lastName, mobileNumber" in result.output


def test_unknown_organisation_entity_or_file_type_are_refused(app, tmp_path):
    make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, HEADER)
    assert "No organisation 'nope'" in invoke(app, "mechanics", str(path), "--org", "nope").output
    result = invoke(app, "boats", str(path), "--org", "org-a")
    assert result.exit_code != 0 and "Unknown entity type 'boats'" in result.output
    text_file = write(tmp_path, "x", "notes.txt")
    result = invoke(app, "mechanics", str(text_file), "--org", "org-a")
    assert result.exit_code != 0 and "not a supported file type" in result.output
