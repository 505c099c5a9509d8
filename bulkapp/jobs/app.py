"""The application of the worker and cron processes: the core application (no blueprints,
no commands) with the notifications of imports that end."""

from __future__ import annotations

from flask import Flask

from ..core import core_app
from .notifications import notify_when_imports_end


def create_worker_app() -> Flask:
    """The worker processes' application, from the environment's configuration."""
    app = core_app()
    notify_when_imports_end()
    return app
