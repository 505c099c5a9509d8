"""One unit of work per use case: a use case commits once at its end (a nested one joins its
caller's transaction), nothing of a use case that raised is kept, and effects run only after
the commit, in order, or never when the transaction is rolled back."""

from __future__ import annotations

import pytest

from bulkapp.errors import UseCaseError
from bulkapp.extensions import db
from bulkapp.models import Organisation
from bulkapp.unit_of_work import after_commit, use_case


def names() -> list[str]:
    """The organisations the database holds, as another session sees them (committed)."""
    with db.engine.connect() as connection:
        return sorted(connection.scalars(db.select(Organisation.name)))


@use_case
def add(name: str, heard: list[str], fail: bool = False) -> Organisation:
    """A use case that refuses before it changes anything, as use cases do."""
    if fail:
        raise UseCaseError(f"{name} is refused", code="refused")
    organisation = Organisation(name=name, slug=name.lower())
    db.session.add(organisation)
    db.session.flush()
    after_commit(lambda: heard.append(f"{name} committed: {names()}"))
    return organisation


@use_case
def add_two(heard: list[str], second_fails: bool = False) -> None:
    add("First", heard)
    assert heard == [], "a nested use case does not commit"
    add("Second", heard, fail=second_fails)


def test_a_use_case_commits_once_then_runs_its_effects(ctx):
    heard: list[str] = []
    add_two(heard)
    assert heard == [
        "First committed: ['First', 'Second']",
        "Second committed: ['First', 'Second']",
    ]


def test_a_use_case_that_raises_keeps_nothing_and_runs_no_effect(ctx):
    """The first organisation was added by a nested use case; the outer one's refusal drops
    it with its effect."""
    heard: list[str] = []
    with pytest.raises(UseCaseError, match="Second is refused"):
        add_two(heard, second_fails=True)
    db.session.commit()
    assert (names(), heard) == ([], [])


def test_a_refusal_caught_inside_a_use_case_leaves_the_rest_of_it(ctx):
    heard: list[str] = []

    @use_case
    def add_what_may_be_added() -> None:
        add("Kept", heard)
        with pytest.raises(UseCaseError):
            add("Refused", heard, fail=True)

    add_what_may_be_added()
    assert names() == ["Kept"] and heard == ["Kept committed: ['Kept']"]


def test_an_effect_that_fails_is_logged_and_the_others_run(ctx, caplog):
    heard: list[str] = []

    def broken() -> None:
        raise RuntimeError("the mail server is away")

    @use_case
    def with_a_broken_effect() -> None:
        after_commit(broken)
        add("After", heard)

    with_a_broken_effect()
    assert names() == ["After"] and heard == ["After committed: ['After']"]
    assert "an effect after a commit failed" in caplog.text
