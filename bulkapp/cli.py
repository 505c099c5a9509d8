"""``flask`` commands: organisations, users, API tokens, bulk import and the demo account.

Organisations and users are created through the same audited use cases as the pages (as the
system: the command line is the deployment's operator)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from .demo import DEMO_EMAIL, DEMO_PASSWORD
from .entities import UnknownEntity
from .errors import UseCaseError
from .extensions import db
from .jobs.imports import import_inline
from .jobs.rejections import error_report
from .jobs.state import job_state
from .models import FAILED, MODES, ROLES, ImportJob, User
from .people.organisations import add_organisation, find_organisation
from .people.users import create_with_password
from .tokens import create_token

orgs = AppGroup("orgs", help="Manage organisations.")
users = AppGroup("users", help="Manage users.")
tokens = AppGroup("tokens", help="Manage API tokens.")
bulk = AppGroup("bulk", help="Import files from the command line.")

DEMO_ORG = "Demo Organisation"


@orgs.command("create")
@click.argument("name")
@click.option("--slug", help="Short name used on the command line (default: from NAME).")
def orgs_create(name: str, slug: str | None) -> None:
    """Create the organisation NAME."""
    try:
        organisation = add_organisation(None, name, slug)
    except UseCaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created organisation {organisation.name} (slug: {organisation.slug}).")


@users.command("create")
@click.option("--org", "org", required=True, help="Organisation name or slug.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option(
    "--password", envvar="BULKAPP_NEW_PASSWORD", help="Default: a generated password, printed once."
)
@click.option("--name", default="", help="Display name.")
def users_create(org: str, email: str, role: str, password: str | None, name: str) -> None:
    """Create a user in an organisation."""
    organisation = find_organisation(org)
    if organisation is None:
        raise click.ClickException(f"No organisation {org!r}. Create it with: flask orgs create")
    try:
        user, password = create_with_password(None, organisation, email, role, name, password)
    except UseCaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email} in {organisation.name}. Password: {password}")


@tokens.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", default="", help="What the token is for (default: its creation date).")
def tokens_create(email: str, name: str) -> None:
    """Create an API token for a user and print it (it is shown only this once)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(
            f"No user with e-mail {email}. Create one with: flask users create"
        )
    try:
        token, raw_token = create_token(user, name)
    except UseCaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Created token “{token.name}” for {user.email}. Copy it now; it is not shown again:",
        err=True,
    )
    click.echo(raw_token)


@bulk.command("import")
@click.argument("entity")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org", required=True, help="Organisation name or slug that owns the rows.")
@click.option("--mode", type=click.Choice(MODES), default="partial", show_default=True)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the job's state as JSON on the last line."
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the error report (a CSV of the rejected rows) to this file.",
)
def bulk_import(
    entity: str, file: Path, org: str, mode: str, as_json: bool, report_file: Path | None
) -> None:
    """Import FILE of ENTITY rows inline (no queue), as a worker would; exit 1 if it fails."""
    organisation = find_organisation(org)
    if organisation is None:
        raise click.ClickException(f"No organisation {org!r}. Create it with: flask orgs create")
    try:
        job = import_inline(organisation=organisation, entity_type=entity, path=file, mode=mode)
    except (UnknownEntity, UseCaseError) as exc:
        raise click.ClickException(str(exc)) from exc
    state = job_state(job)
    stats, saved = state["validation_stats"], state["database_stats"]
    click.echo(
        f"{state['file_name']}: {state['status']} in "
        f"{(state['processing_duration_ms'] or 0) / 1000:.1f} s (job {state['id']})."
    )
    click.echo(
        f"Rows: {stats.get('total', 0)} total, {stats.get('valid', 0)} valid, "
        f"{stats.get('invalid', 0)} invalid ({stats.get('duplicates', 0)} duplicates). "
        f"Saved: {saved.get('inserted', 0)} inserted, {saved.get('updated', 0)} updated, "
        f"{saved.get('unchanged', 0)} unchanged."
    )
    for warning in state["warnings"]:
        click.echo(f"Warning: {warning}")
    if state["has_error_report"]:
        click.echo(f"Error report: {_report_location(job, report_file)}")
    if state["error_message"]:
        click.echo(f"Error: {state['error_message']}", err=True)
    if as_json:
        click.echo(json.dumps(state))
    if state["status"] == FAILED:
        raise SystemExit(1)


def _report_location(job: ImportJob, report_file: Path | None) -> str:
    """Where the error report of ``job`` is: written to ``report_file``, or where to download
    it."""
    report = error_report(job)
    if report_file is None or report is None:
        return (
            f"download it from /jobs/{job.id}/errors.csv or GET "
            f"/api/v1/bulk-upload/{job.id}/errors (or import with --report FILE)"
        )
    with open(report_file, "wb") as out:
        out.writelines(report)
    return str(report_file)


def demo_command() -> None:
    """Create the demo organisation and its admin (once) and print how to sign in."""
    organisation = find_organisation(DEMO_ORG) or add_organisation(None, DEMO_ORG, "demo")
    email_taken = db.session.scalar(select(User).where(func.lower(User.email) == DEMO_EMAIL))
    if email_taken is None:
        create_with_password(
            None, organisation, DEMO_EMAIL, "super_admin", "Demo Admin", DEMO_PASSWORD
        )
    port = os.environ.get("BULKAPP_PORT", "5000")  # make run's port
    click.echo(
        f"Sign in at http://127.0.0.1:{port}/login as {DEMO_EMAIL} with password {DEMO_PASSWORD}"
    )


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(orgs)
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(bulk)
    app.cli.command("demo")(demo_command)
