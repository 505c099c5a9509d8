"""Redis connections that wait out an outage instead of failing, for worker processes.

A worker has nothing to do while Redis is away, but the import it is running does not need
Redis: its work horse goes on saving chunks to the database. With a patient connection every
Redis call of a worker, its work horse, its retry scheduler and the cron process waits
(backing off up to ``MAX_WAIT_SECONDS``) until Redis answers again, then carries on where it
was: nothing exits, nothing is lost, an import that finished meanwhile is recorded as finished.
The web keeps a client that fails fast, so a request never hangs on Redis.

A process that is asked to stop must not wait for Redis forever: its signal handler calls
``stop_waiting()``, after which the next failure is raised as usual.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..extensions import REDIS_SOCKET_TIMEOUTS

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_WAIT_SECONDS = 0.25
MAX_WAIT_SECONDS = 2.0  # a worker is back at work at most this long after Redis returns
REPORT_EVERY_SECONDS = 30.0
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, socket.timeout)


class _Outage:
    """What this process knows about Redis being away (one per process)."""

    started: float | None = None  # monotonic time of the first failure of the current outage
    last_failure: float | None = None  # monotonic time of the most recent failure
    reported: float = 0.0
    stopping = False


def stop_waiting() -> None:
    """From now on, calls in this process give up on Redis instead of waiting for it."""
    _Outage.stopping = True


def failed_within(seconds: float) -> bool:
    """Whether a Redis call of this process failed during the last ``seconds``."""
    return _Outage.last_failure is not None and time.monotonic() - _Outage.last_failure < seconds


def _note_failure(error: Exception) -> None:
    now = time.monotonic()
    _Outage.last_failure = now
    if _Outage.started is None:
        _Outage.started = _Outage.reported = now
        log.warning("Redis is unreachable (%s); waiting for it to come back", error)
    elif now - _Outage.reported >= REPORT_EVERY_SECONDS:
        _Outage.reported = now
        log.warning("still waiting for Redis after %.0f s (%s)", now - _Outage.started, error)


def _note_recovery() -> None:
    if _Outage.started is not None:
        log.warning("Redis answers again after %.0f s", time.monotonic() - _Outage.started)
        _Outage.started = None


class PatientRetry(Retry):
    """Retry a Redis call for as long as Redis is unreachable, unless the process is stopping."""

    def __init__(self) -> None:
        super().__init__(
            ExponentialBackoff(cap=MAX_WAIT_SECONDS, base=FIRST_WAIT_SECONDS),
            retries=-1,
            supported_errors=OUTAGE_ERRORS,
        )

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        """Call ``do`` until it succeeds; ``fail`` (which drops the broken connection) runs
        after each failure."""
        self._backoff.reset()
        failures = 0
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                if is_retryable is not None and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                _note_failure(error)
                if _Outage.stopping:
                    raise
                time.sleep(self._backoff.compute(failures))
                continue
            if failures:
                _note_recovery()
            return result


def patient_redis(url: str) -> Redis:
    """A Redis client for worker processes whose every call waits out an outage."""
    return Redis.from_url(
        url,
        retry=PatientRetry(),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        **REDIS_SOCKET_TIMEOUTS,
    )
