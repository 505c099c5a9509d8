"""Errors of the import pipeline."""


class ImportFailed(Exception):
    """The file cannot be imported; the message is meant for the user who uploaded it."""
