"""bulkapp: organisations upload bulk files; background workers validate and store them."""

from .app import create_app

__all__ = ["create_app"]
