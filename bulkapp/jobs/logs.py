"""Quiet logs for idle workers: RQ's routine lines go to DEBUG, real events stay at INFO.

An idle worker and the cron process used to log about a line a second: the registry
clean-up of every queue, and each maintenance run (enqueued, started, "Job OK", result kept);
a starting worker logged a line per queue.
Those lines are kept for ``LOG_LEVEL=DEBUG``; imports, notifications, warnings and errors
are logged as before.
"""

from __future__ import annotations

import logging

from .queues import MAINTENANCE_QUEUE

ROUTINE_LOGGERS = ("rq.worker", "rq.cron", "rq.scheduler")
ROUTINE_PHRASES = (
    "cleaning registries for queue",
    "Successfully completed",  # RQ says it twice; its "Job OK" line stays
    MAINTENANCE_QUEUE,
    "Acquired scheduler lock for",  # one line per queue at every start
    "subscribing to channel",
)


class RoutineLinesAtDebug(logging.Filter):
    """Drop RQ's routine INFO lines unless the logger is set to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        if logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return True
        message = record.getMessage()
        return not any(phrase in message for phrase in ROUTINE_PHRASES)


def quiet_routine_logs() -> None:
    """Install ``RoutineLinesAtDebug`` on RQ's worker, cron and scheduler loggers (once)."""
    for name in ROUTINE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RoutineLinesAtDebug) for f in logger.filters):
            logger.addFilter(RoutineLinesAtDebug())
