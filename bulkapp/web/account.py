"""The user's account page: change the password; create, list and revoke API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from ..people import PeopleError
from ..people.passwords import change_password
from ..tokens import MAX_NAME_LENGTH, create_token, list_tokens, revoke_token
from .forms import ChangePasswordForm, ConfirmForm

bp = Blueprint("account", __name__)


class TokenForm(FlaskForm):
    """Name a new token (optional)."""

    name = StringField(
        "Token name",
        validators=[Length(max=MAX_NAME_LENGTH)],
        description="What the token is for, e.g. “nightly member sync”.",
    )


def _page(
    form: TokenForm,
    new_token: str | None = None,
    status: int = 200,
    password_form: ChangePasswordForm | None = None,
) -> tuple[str, int, dict[str, str]]:
    """The account page; never cached, since it may show a new token."""
    html = render_template(
        "account.html",
        form=form,
        password_form=password_form or ChangePasswordForm(formdata=None),
        revoke_form=ConfirmForm(),
        tokens=list_tokens(current_user),
        new_token=new_token,
    )
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/account")
def index():
    """The account page with the user's API tokens."""
    return _page(TokenForm())


@bp.post("/account/tokens")
def create():
    """Create a token and show it, once, on the page this request returns."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    _, raw_token = create_token(current_user, form.name.data or "")
    return _page(TokenForm(formdata=None), new_token=raw_token)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke one of the user's tokens; programs using it get 401 from now on."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = revoke_token(current_user, token_id)
    flash(f"Token “{token.name}” was revoked.", "info")
    return redirect(url_for("account.index"))


@bp.post("/account/password")
def password():
    """Change the password: the current one is required; the user's other sessions end and
    this one carries on."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(TokenForm(formdata=None), status=400, password_form=form)
    try:
        change_password(current_user, form.current_password.data, form.password.data)
    except PeopleError as exc:
        target = form.current_password if exc.code == "wrong_password" else form.password
        target.errors = [str(exc)]
        return _page(TokenForm(formdata=None), status=exc.status, password_form=form)
    login_user(current_user._get_current_object())  # renew this session in the new generation
    flash("Your password was changed. Your other sessions have been signed out.", "info")
    return redirect(url_for("account.index"))
