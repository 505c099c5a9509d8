"""The Alembic migrations build exactly the schema the models declare, and undo it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, MetaData, String, inspect, text

from bulkapp import create_app
from bulkapp.config import test_config
from bulkapp.extensions import db
from bulkapp.models import ImportJob, Organisation, RecordChange, User
from tests.databases import database_name, drop_database, postgres_url, recreate_database


@pytest.fixture
def restored_logging():
    """Undo what migrations/env.py's ``fileConfig`` does to logging (new root handler, every
    existing logger disabled), so later tests still see their log records."""
    manager = logging.Logger.manager
    loggers = [
        logging.getLogger(),
        *(logger for logger in manager.loggerDict.values() if isinstance(logger, logging.Logger)),
    ]
    saved = [
        (logger, logger.disabled, logger.level, logger.handlers[:], logger.propagate)
        for logger in loggers
    ]
    yield
    for logger, disabled, level, handlers, propagate in saved:
        logger.disabled, logger.propagate = disabled, propagate
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.fixture
def empty_database_app(tmp_path, restored_logging):
    """An app on an empty database of its own (a SQLite file, or ``<test database>_migrations``
    on PostgreSQL), dropped after."""
    if postgres_url() is None:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        url = recreate_database(database_name("migrations"))
    app = create_app(test_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if postgres_url() is not None:
        drop_database(database_name("migrations"))


def schema_differences(metadata: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``metadata``."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


def describe(difference: Any) -> str:
    """One line per Alembic difference, e.g. ``add_column organisations region``."""
    if isinstance(difference, list):  # modify_* differences come grouped per column
        return "; ".join(describe(item) for item in difference)
    kind, *details = difference
    names = [
        detail if isinstance(detail, str) else getattr(detail, "name", None) for detail in details
    ]
    return " ".join([kind, *(name for name in names if name)])


def test_migrations_build_exactly_the_models_schema(empty_database_app):
    upgrade()
    differences = schema_differences(db.metadata)
    assert not differences, (
        "The models and migrations/ disagree; regenerate the migration (flask db migrate):\n"
        + "\n".join(describe(difference) for difference in differences)
    )


def test_a_model_change_without_a_migration_is_detected(empty_database_app):
    upgrade()
    drifted = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["organisations"].append_column(Column("region", String(50)))
    added_columns = [
        (diff[2], diff[3].name) for diff in schema_differences(drifted) if diff[0] == "add_column"
    ]
    assert ("organisations", "region") in added_columns


def test_downgrade_to_base_removes_every_table(empty_database_app):
    upgrade()
    downgrade(revision="base")
    assert inspect(db.engine).get_table_names() == ["alembic_version"]
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 0


def test_rebuilding_the_jobs_table_keeps_the_rows_that_refer_to_it(empty_database_app):
    """SQLite's batch mode copies ``import_jobs`` and drops the old table: an upgrade must
    not take the change log (ON DELETE CASCADE) with it."""
    upgrade()
    organisation = Organisation(name="Upgraded", slug="upgraded")
    db.session.add(organisation)
    db.session.flush()
    user = User(organisation_id=organisation.id, email="admin@upgraded.example", role="member")
    db.session.add(user)
    db.session.flush()
    job = ImportJob(
        organisation_id=organisation.id,
        user_id=user.id,
        entity_type="mechanics",
        mode="partial",
        original_filename="a.csv",
        stored_path="a.csv",
        file_size=1,
        queue_name="test",
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(
        RecordChange(
            import_job_id=job.id,
            entity_type="mechanics",
            record_id=1,
            action="update",
            changes={"city": ["Pretoria", "Durban"]},
        )
    )
    db.session.commit()
    db.session.remove()
    downgrade(revision="c4f1a7d2e9b3")  # before the two migrations that rebuild import_jobs
    upgrade()
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM record_changes")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM import_jobs")).scalar() == 1
