"""Errors of the import pipeline."""


class ImportFailed(Exception):
    """The file cannot be imported; the message is meant for the user who uploaded it."""


class ImportSuperseded(Exception):
    """A later attempt claimed the job while this one ran; this one stops without writing."""
