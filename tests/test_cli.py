from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import AuditEntry, Organisation, User


def test_orgs_and_users_are_created_from_the_command_line(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orgs", "create", "Acme Insurance"])
    assert result.exit_code == 0, result.output
    assert "slug: acme-insurance" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--org",
            "acme-insurance",
            "--email",
            "Ops@Acme.example",
            "--role",
            "province_admin",
            "--password",
            "long-enough-pw",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ops@acme.example" and user.role == "province_admin"
        assert user.check_password("long-enough-pw")
        assert user.organisation.name == "Acme Insurance"


def test_users_create_reports_an_unknown_organisation_and_a_duplicate(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--org", "nope", "--email", "a@b.example"])
    assert result.exit_code != 0 and "No organisation 'nope'" in result.output
    runner.invoke(args=["orgs", "create", "Acme"])
    runner.invoke(args=["users", "create", "--org", "acme", "--email", "a@b.example"])
    result = runner.invoke(args=["users", "create", "--org", "acme", "--email", "a@b.example"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_generated_password_is_printed_once_and_works(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["orgs", "create", "Acme"])
    result = runner.invoke(args=["users", "create", "--org", "acme", "--email", "x@acme.example"])
    password = result.output.strip().rsplit("Password: ", 1)[1]
    with app.app_context():
        assert db.session.scalar(select(User)).check_password(password)


def test_demo_command_is_idempotent_and_prints_the_login(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "admin@demo.example" in first.output and "password" in first.output
    with app.app_context():
        assert len(db.session.scalars(select(Organisation)).all()) == 1
        assert len(db.session.scalars(select(User)).all()) == 1


def test_people_made_on_the_command_line_are_audited_as_the_system(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["orgs", "create", "Acme"])
    result = runner.invoke(args=["users", "create", "--org", "acme", "--email", "ops@acme.example"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.actor_email, e.target) for e in entries] == [
            ("organisation_created", "", "Acme"),
            ("user_created", "", "ops@acme.example"),
        ]
    refused = runner.invoke(args=["users", "create", "--org", "acme", "--email", "not-an-address"])
    assert refused.exit_code != 0 and "is not an e-mail address" in refused.output
