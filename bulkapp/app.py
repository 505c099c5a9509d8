"""The application factory of the web server and the ``flask`` command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .cli import register_cli
from .core import core_app
from .jobs.notifications import notify_when_imports_end
from .web import register_web


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application from ``config`` (default: ``core.configuration()``): the
    core application with the blueprints, the ``flask`` commands and the notifications of
    imports that end."""
    app = core_app(config)
    register_web(app)
    register_cli(app)
    notify_when_imports_end()
    return app
