import json

from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES, ImportJob
from tests.conftest import make_account

HEADER = "First Name,Surname,E-mail,Cell\n"


def write(tmp_path, content: str, name: str = "mechanics.csv"):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["bulk", "import", *args])


def test_bulk_import_runs_inline_and_prints_a_json_summary_last(app, tmp_path):
    account = make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, HEADER + "Ann,Lee,ann@x.com,0821234567\n"
                                    "Bob,Bad,not-an-email,0821234567\n")
    result = invoke(app, "mechanics", str(path), "--org", "org-a", "--json")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "mechanics.csv: completed" in lines[0]
    assert "2 total, 1 valid, 1 invalid" in result.output
    summary = json.loads(lines[-1])
    assert summary["status"] == "completed"
    assert summary["validation_stats"] == {"total": 2, "valid": 1, "invalid": 1,
                                           "duplicates": 0, "warnings": 0}
    assert summary["database_stats"]["inserted"] == 1
    assert summary["processing_duration_ms"] >= 0 and summary["has_error_report"] is True
    assert path.exists(), "the user's own file is left alone"
    with app.app_context():
        job = db.session.scalar(select(ImportJob))
        assert job.user_id is None and job.organisation_id == account.organisation_id
        assert job.queue_name is None
        table = ENTITY_TABLES["mechanics"]
        assert db.session.scalar(select(func.count()).select_from(table)) == 1


def test_bulk_import_validate_only_writes_nothing(app, tmp_path):
    make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, HEADER + "Ann,Lee,ann@x.com,0821234567\n")
    result = invoke(app, "mechanics", str(path), "--org", "org-a", "--mode", "validate_only",
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["database_stats"]["inserted"] == 0


def test_a_failed_import_exits_non_zero_with_the_reason(app, tmp_path):
    make_account(app, "org-a", "member@a.example")
    path = write(tmp_path, "First Name,E-mail\nAnn,ann@x.com\n")
    result = invoke(app, "mechanics", str(path), "--org", "org-a", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output.strip().splitlines()[-1])["status"] == "failed"
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
