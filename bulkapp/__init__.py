"""bulkapp: organisations upload bulk files; background workers validate and store them.

``create_app`` (the web server's factory) is imported on first use, so that a worker
process, which imports ``bulkapp.jobs``, never loads the web.
"""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'bulkapp' has no attribute {name!r}")
