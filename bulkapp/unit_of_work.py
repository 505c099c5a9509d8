"""One unit of work per use case: one transaction, committed once, and side effects after it.

- A use case (``@use_case``) runs in one transaction and commits it once, at its end; if it
  raises, nothing of it is kept (rolled back). A use case called by another one joins the
  caller's transaction: only the outermost commits, so use cases combine.
- Helpers add and flush; they never commit.
- Side effects (enqueue, mail, webhooks, notifications) are registered with ``after_commit``
  while the use case runs, and run once its transaction has committed, in the order they
  were registered; a rolled-back transaction forgets them. An effect that fails is logged
  and does not undo what was committed (each effect is made to be retried or swept up).

Effects run on the application's session (``UnitOfWorkSession``, the session class of
``bulkapp.extensions.db``), after the commit has ended, so an effect may read and record
(its own small commit) through the same session.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_PENDING = "bulkapp.after_commit"
_RUNNING = "bulkapp.running_after_commit"
_DEPTH = "bulkapp.use_case_depth"

Effect = Callable[[], Any]


def _current_session() -> Any:
    """The application's scoped session (``db.session``)."""
    return current_app.extensions["sqlalchemy"].session


def after_commit(effect: Effect, session: Session | None = None) -> None:
    """Run ``effect`` once the transaction of ``session`` (the application's, by default)
    commits; forget it if the transaction is rolled back."""
    session = session if session is not None else _current_session()
    session.info.setdefault(_PENDING, []).append(effect)


def use_case(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` as one unit of work: commit at its end (unless it runs inside another
    use case, whose transaction it joins), roll back if it raises."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        session = _current_session()
        depth = session.info.get(_DEPTH, 0)
        session.info[_DEPTH] = depth + 1
        try:
            result = function(*args, **kwargs)
            if depth == 0:
                session.info[_DEPTH] = 0
                session.commit()
            return result
        except BaseException:
            if depth == 0:
                session.rollback()
            raise
        finally:
            session.info[_DEPTH] = depth

    return run


class UnitOfWorkSession(FlaskSession):
    """Flask-SQLAlchemy's session that runs the effects registered with ``after_commit``
    once each commit has ended."""

    def commit(self) -> None:
        super().commit()
        if self.info.get(_RUNNING):  # an effect committed: the loop below picks up its effects
            return
        self.info[_RUNNING] = True
        try:
            while effects := self.info.pop(_PENDING, None):
                for effect in effects:
                    self._run(effect)
        finally:
            self.info.pop(_RUNNING, None)

    def _run(self, effect: Effect) -> None:
        try:
            effect()
        except Exception:
            log.exception("an effect after a commit failed: %r", effect)
            self.rollback()

    def close(self) -> None:
        self.info.pop(_PENDING, None)
        super().close()


@event.listens_for(Session, "after_rollback")
def _forget_effects(session: Session) -> None:
    """Effects of a transaction that was rolled back never run."""
    session.info.pop(_PENDING, None)
