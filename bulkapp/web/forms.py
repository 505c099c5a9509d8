"""Forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from ..entities import REGISTRY
from ..jobs.imports import DETECT
from ..models import MODES

MODE_LABELS = {
    "partial": "Partial: store good rows, report bad ones",
    "all_or_nothing": "All or nothing: any bad row stores nothing",
    "validate_only": "Validate only: a dry run that stores nothing",
}


class LoginForm(FlaskForm):
    """Sign in with e-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class UploadForm(FlaskForm):
    """A file to import, what it contains and how to import it."""

    entity_type = SelectField(
        "What does the file contain?",
        choices=[
            SelectChoice(DETECT, "Detect from the file"),
            *(SelectChoice(name, schema.label) for name, schema in sorted(REGISTRY.items())),
        ],
        default=DETECT,
    )
    mode = SelectField(
        "Mode", choices=[SelectChoice(m, MODE_LABELS[m]) for m in MODES], default="partial"
    )
    file = FileField("File", validators=[FileRequired("Choose a file to upload.")])
    import_when_certain = BooleanField(
        "Import straight away when the mapping is certain (otherwise review it first)"
    )


class ConfirmForm(FlaskForm):
    """An empty form: its CSRF token guards POST-only buttons (logout, cancel, ...)."""


class ForgotPasswordForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    """Choose a password (through an invitation or reset link)."""

    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class ChangePasswordForm(NewPasswordForm):
    """Change one's password: the current one first."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)]
    )
