"""WSGI entry point: ``gunicorn wsgi:app``; also ``flask --app wsgi``."""

from bulkapp import create_app

app = create_app()
