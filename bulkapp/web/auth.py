"""Sign in and out, forgotten passwords, and setting a password through an e-mailed link.

Failed sign-ins are limited per account and per client address (``LOGIN_RATE_LIMIT_*``,
counted in Redis by Flask-Limiter; in memory while Redis is away, so an outage locks nobody
out). Beyond the limit the form answers 429 with ``Retry-After``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from ..extensions import limiter
from ..people import PeopleError
from ..people.passwords import request_password_reset, set_password_from_link, user_for_link
from ..people.signin import sign_in, sign_out
from .forms import ConfirmForm, ForgotPasswordForm, LoginForm, NewPasswordForm
from .helpers import public, redirect_within_site, seconds_until_limit_resets

bp = Blueprint("auth", __name__)

LINK_PURPOSES = ("reset", "invite")


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _sign_in_failed(_response) -> bool:
    """Only refused sign-ins count towards the limits."""
    return bool(g.get("sign_in_failed"))


def _too_many_message() -> str:
    return "Too many failed sign-ins. Wait and try again, or reset your password."


failed_sign_ins_per_account = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"],
    scope="sign-in-account",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_sign_in_failed,
    error_message=_too_many_message,
)
failed_sign_ins_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_ADDRESS"],
    scope="sign-in-address",
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_sign_in_failed,
    error_message=_too_many_message,
)
# Reset e-mails count every request, so the form cannot be used to flood a mailbox.
reset_requests_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_ADDRESS"],
    scope="password-reset-address",
    key_func=get_remote_address,
    methods=["POST"],
)


@bp.errorhandler(429)
def _too_many_attempts(_exc):
    """The sign-in (or forgotten-password) page again, saying how long to wait."""
    retry_after = seconds_until_limit_resets() or 60
    minutes = -(-retry_after // 60)
    wait = f"Too many attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}"
    if request.endpoint == "auth.forgot_password":
        page = render_template(
            "forgot_password.html",
            form=ForgotPasswordForm(formdata=None),
            limit_message=wait + ".",
        )
    else:
        page = render_template(
            "login.html",
            form=LoginForm(formdata=None),
            limit_message=wait + ", or reset your password with the link below.",
        )
    return page, 429, {"Retry-After": str(retry_after)}


@bp.route("/login", methods=["GET", "POST"])
@public
@failed_sign_ins_per_account
@failed_sign_ins_per_address
def login():
    """The sign-in form."""
    if current_user.is_authenticated:
        return redirect(url_for("jobs.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = sign_in(form.email.data, form.password.data)
        except PeopleError as exc:
            g.sign_in_failed = True
            flash(str(exc), "error")
        else:
            login_user(user)
            return redirect_within_site(request.args.get("next"), url_for("jobs.index"))
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST with a CSRF token, so no other site can sign a user out)."""
    if ConfirmForm().validate_on_submit():
        if current_user.is_authenticated:
            sign_out(current_user)
        logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@reset_requests_per_address
def forgot_password():
    """Ask for a reset link; the answer is the same whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        flash(
            "If that address has an account, we have e-mailed it a link to set a new "
            "password. The link works once.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("forgot_password.html", form=form)


@bp.route("/password/<purpose>/<token>", methods=["GET", "POST"])
@public
def set_password(purpose: str, token: str):
    """Choose a password through an invitation or reset link (it works once)."""
    if purpose not in LINK_PURPOSES:
        abort(404)
    user = user_for_link(token, purpose)  # type: ignore[arg-type]
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password_from_link(token, purpose, form.password.data)  # type: ignore[arg-type]
        except PeopleError as exc:
            form.password.errors = [str(exc)]
        else:
            if current_user.is_authenticated:
                logout_user()
            flash("Your password is set. Sign in with it now.", "info")
            return redirect(url_for("auth.login"))
    page = render_template("set_password.html", form=form, user=user, purpose=purpose)
    return page, 422 if form.errors else 200, {"Cache-Control": "no-store"}
