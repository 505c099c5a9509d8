"""Sign in and sign out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import User
from .forms import ConfirmForm, LoginForm
from .helpers import public, redirect_within_site

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The sign-in form."""
    if current_user.is_authenticated:
        return redirect(url_for("jobs.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            select(User).where(func.lower(User.email) == form.email.data.strip().lower())
        )
        if user and user.active and user.check_password(form.password.data):
            login_user(user)
            return redirect_within_site(request.args.get("next"), url_for("jobs.index"))
        flash("E-mail or password is incorrect.", "error")
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST with a CSRF token, so no other site can sign a user out)."""
    if ConfirmForm().validate_on_submit():
        logout_user()
    return redirect(url_for("auth.login"))
