"""The application without the web: configuration, extensions and models.

The web server builds on it (``bulkapp.app.create_app``: blueprints and ``flask`` commands);
the workers and the cron process start from it alone (``bulkapp.jobs.app``), so nothing
below the web imports the web.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import PROJECT_ROOT, load_config
from .extensions import csrf, db, init_limiter, init_redis, login_manager, migrate


def configuration() -> dict[str, Any]:
    """The configuration from the environment.

    In development (any ``BULKAPP_ENV`` but ``production``) a ``.env`` file at the project
    root is read first; variables already set win.

    Raises:
        ConfigError: the environment does not describe a runnable configuration.
    """
    if os.environ.get("BULKAPP_ENV", "") != "production":
        load_dotenv(PROJECT_ROOT / ".env", override=False)
    return load_config()


def core_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application from ``config`` (default: ``configuration()``), with its extensions
    and every table, but no blueprints and no commands."""
    if config is None:
        config = configuration()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(config["INSTANCE_DIR"]),
    )
    app.config.from_mapping(config)
    if app.config.get("PROXY_FIX_X_FOR"):
        # The client address comes from X-Forwarded-For only when proxies are declared.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1
        )
    logging.basicConfig(
        level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    init_redis(app)
    init_limiter(app)

    from . import models  # noqa: F401  (registers every table on db.metadata)

    return app
