"""People (organisation admins), organisations (``super_admin``) and the audit log.

Thin views over ``bulkapp.people``: refusals are ``PeopleError``s, 403 and 404 shown as
error pages; input the user can fix (a taken address) is flashed on the page instead.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from .. import audit
from ..extensions import db
from ..people import users as people_users
from ..people.organisations import (
    add_organisation,
    all_organisations,
    find_organisation_for,
    rename,
    set_organisation_active,
)
from ..people.users import (
    change_role,
    find_person,
    invite,
    may_manage,
    people_visible_to,
    require_admin,
    roles_grantable_by,
    set_active,
)
from .forms import ConfirmForm
from .helpers import refusals_flashed

bp = Blueprint("people", __name__)

AUDIT_PAGE_SIZE = 50


class InviteForm(FlaskForm):
    """Invite a person by e-mail."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Length(max=200)])
    # The use case judges the role (403 above one's own), not the form.
    role = SelectField("Role", default="member", validate_choice=False)


class OrganisationForm(FlaskForm):
    """Name an organisation."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.role.choices = roles_grantable_by(current_user)
    return form


@bp.get("/people")
def index():
    """The organisation's people (a super admin picks the organisation, or sees everyone)."""
    require_admin(current_user)
    organisation_id = request.args.get("organisation", type=int)
    if organisation_id is not None:
        find_organisation_for(current_user, organisation_id)
    elif not current_user.is_super_admin:
        organisation_id = current_user.organisation_id
    return render_template(
        "people.html",
        people=people_visible_to(current_user, organisation_id),
        invite_form=_invite_form(),
        confirm_form=ConfirmForm(),
        grantable=roles_grantable_by(current_user),
        may_manage=lambda person: may_manage(current_user, person),
        organisations=all_organisations(current_user) if current_user.is_super_admin else [],
        organisation_id=organisation_id,
    )


def _back_to_people(organisation_id: int | None = None):
    return redirect(url_for("people.index", organisation=organisation_id))


def _organisation_invited_into() -> int:
    return request.form.get("organisation", current_user.organisation_id, type=int)


def _back_to_organisations(**_view_args):
    return redirect(url_for("people.organisations"))


@bp.post("/people/invite")
@refusals_flashed(lambda: _back_to_people(_organisation_invited_into()))
def invite_person():
    """Invite a person: they get an e-mail with a one-time link to choose a password."""
    require_admin(current_user)
    form = _invite_form()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return _back_to_people()
    organisation = find_organisation_for(current_user, _organisation_invited_into())
    person = invite(
        current_user, form.email.data, form.role.data, form.name.data or "", organisation
    )
    flash(f"{person.email} was invited: they have an e-mail with a link to set a password.", "info")
    return _back_to_people(organisation.id)


@bp.post("/people/<int:user_id>/role")
def change_person_role(user_id: int):
    """Give a person another role."""
    person = find_person(current_user, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    role = request.form.get("role", "")
    previous = person.role
    change_role(current_user, person, role)
    flash(
        f"{person.email} is now {role.replace('_', ' ')} (was {previous.replace('_', ' ')}).",
        "info",
    )
    return _back_to_people(person.organisation_id)


@bp.post("/people/<int:user_id>/<any(deactivate, reactivate):action>")
def set_person_active(user_id: int, action: str):
    """Deactivate a person (sessions end, tokens stop; their jobs stay) or reactivate them."""
    person = find_person(current_user, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    set_active(current_user, person, action == "reactivate")
    flash(f"{person.email} was {action}d.", "info")
    return _back_to_people(person.organisation_id)


@bp.post("/people/<int:user_id>/resend-invitation")
@refusals_flashed(lambda user_id: _back_to_people())
def resend_invitation(user_id: int):
    """Mail an invited person a new link to set their password."""
    person = find_person(current_user, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    people_users.resend_invitation(current_user, person)
    flash(f"{person.email} was sent a new invitation.", "info")
    return _back_to_people(person.organisation_id)


@bp.get("/organisations")
def organisations():
    """Every organisation, with forms to add, rename and (de)activate (super admins)."""
    return render_template(
        "organisations.html",
        organisations=all_organisations(current_user),
        form=OrganisationForm(formdata=None),
        confirm_form=ConfirmForm(),
    )


@bp.post("/organisations")
@refusals_flashed(_back_to_organisations)
def create_organisation():
    """Add an organisation."""
    form = OrganisationForm()
    if form.validate_on_submit():
        organisation = add_organisation(current_user, form.name.data)
        flash(f"Organisation {organisation.name} was created (slug {organisation.slug}).", "info")
    return _back_to_organisations()


@bp.post("/organisations/<int:organisation_id>/rename")
@refusals_flashed(_back_to_organisations)
def rename_organisation(organisation_id: int):
    """Rename an organisation (its slug stays)."""
    organisation = find_organisation_for(current_user, organisation_id)
    form = OrganisationForm()
    if form.validate_on_submit():
        rename(current_user, organisation, form.name.data)
    return _back_to_organisations()


@bp.post("/organisations/<int:organisation_id>/<any(deactivate, reactivate):action>")
def set_organisation_state(organisation_id: int, action: str):
    """Deactivate an organisation (its users are signed out, its tokens stop) or reactivate it."""
    organisation = find_organisation_for(current_user, organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    set_organisation_active(current_user, organisation, action == "reactivate")
    flash(f"{organisation.name} was {action}d.", "info")
    return redirect(url_for("people.organisations"))


@bp.get("/audit")
def audit_log():
    """The organisation's audit log (everything, for a super admin), filterable."""
    require_admin(current_user)
    filters, errors = audit.parse_filters(request.args)
    page = db.paginate(
        audit.entries_visible_to(current_user, filters),
        page=max(request.args.get("page", 1, type=int), 1),
        per_page=AUDIT_PAGE_SIZE,
        error_out=False,
    )
    return render_template(
        "audit.html",
        pagination=page,
        filters=filters,
        filter_errors=errors,
        actions=audit.ACTIONS,
    )


@bp.get("/audit.csv")
def audit_csv():
    """The filtered audit log as CSV (cells a spreadsheet would run as formulas escaped)."""
    require_admin(current_user)
    filters, _ = audit.parse_filters(request.args)
    query = audit.entries_visible_to(current_user, filters)
    return Response(
        stream_with_context(audit.csv_lines(query)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": "attachment; filename=audit-log.csv",
            "Cache-Control": "no-store",
        },
    )
