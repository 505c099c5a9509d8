"""The change log written with the rows: created_job_id on inserted records, a record_changes
row with the old and new values of every updated record, nothing for unchanged ones; in the
chunk's transaction, on SQLite and PostgreSQL alike."""

from datetime import datetime

from sqlalchemy import func, select, text, update

from bulkapp.entities import get_entity
from bulkapp.extensions import db
from bulkapp.ingest.persist import Upserter
from bulkapp.jobs.attempts import run_import
from bulkapp.models import ENTITY_TABLES, RecordChange
from tests.ingest.conftest import MECHANICS_HEADER, create_job, mechanic_rows

MECHANICS = get_entity("mechanics")
POLICIES = get_entity("policies")
TABLE = ENTITY_TABLES["mechanics"]
POLICY_TABLE = ENTITY_TABLES["policies"]


def mechanic(i: int, **changes) -> dict:
    return {
        "first_name": "John",
        "last_name": f"Doe{i}",
        "email": f"m{i}@example.com",
        "mobile_number": "0821234567",
        "specialisation": None,
        "years_experience": i,
        "workshop_name": None,
        "city": "Pretoria",
        "province": "Gauteng",
        **changes,
    }


def policy(number: str, **changes) -> dict:
    return {
        "policy_number": number,
        "type": "motor",
        "holder_name": "Thandi",
        "holder_id_number": None,
        "holder_email": None,
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "premium": "450.00",
        "sum_insured": "250000.00",
        "status": "active",
        **changes,
    }


def save(account, job, rows, schema=MECHANICS, provided=None, log_changes=True):
    upserter = Upserter(
        schema,
        account.organisation_id,
        job.id,
        provided or schema.field_names,
        db.session,
        log_changes=log_changes,
    )
    saved = upserter.save({f: [row.get(f) for row in rows] for f in schema.field_names}, len(rows))
    db.session.commit()
    return saved


def changes_of(job) -> dict[str, dict]:
    """The job's log: the record's natural key → its changes."""
    logged = db.session.execute(
        select(RecordChange.record_id, RecordChange.changes, RecordChange.action).where(
            RecordChange.import_job_id == job.id
        )
    ).all()
    assert {action for _, _, action in logged} <= {"update"}
    keys = dict(db.session.execute(select(TABLE.c.id, TABLE.c.email)).all())
    keys |= dict(db.session.execute(select(POLICY_TABLE.c.id, POLICY_TABLE.c.policy_number)).all())
    by_key = {keys[record_id]: changes for record_id, changes, _ in logged}
    assert len(by_key) == len(logged), "one log row per record"
    return by_key


def rows_by_key(table=TABLE, key="email") -> dict:
    return {r[key]: dict(r) for r in db.session.execute(select(table)).mappings()}


def stamp(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="microseconds")


def test_inserted_records_carry_their_import_and_write_no_log_row(ctx, user_a):
    job = create_job(user_a, "x")
    saved = save(user_a, job, [mechanic(i) for i in range(3)])
    assert saved.inserted == 3
    rows = rows_by_key()
    assert {r["created_job_id"] for r in rows.values()} == {job.id}
    assert {r["import_job_id"] for r in rows.values()} == {job.id}
    assert changes_of(job) == {}


def test_an_update_logs_old_and_new_of_the_changed_fields_only(ctx, user_a):
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [mechanic(i) for i in range(4)])
    before = rows_by_key()
    saved = save(
        user_a,
        second,
        [
            mechanic(0),  # unchanged
            mechanic(1, city="Durban", years_experience=30),
            mechanic(2, specialisation="Diesel", province=None),
            mechanic(3),
            mechanic(9),  # new
        ],
    )
    assert (saved.inserted, saved.updated, saved.unchanged) == (1, 2, 2)
    after = rows_by_key()
    log = changes_of(second)
    assert set(log) == {"m1@example.com", "m2@example.com"}
    updated_at = [
        stamp(before["m1@example.com"]["updated_at"]),
        stamp(after["m1@example.com"]["updated_at"]),
    ]
    assert log["m1@example.com"] == {
        "city": ["Pretoria", "Durban"],
        "years_experience": [1, 30],
        "import_job_id": [first.id, second.id],
        "updated_at": updated_at,
    }
    assert log["m2@example.com"] == {
        "specialisation": [None, "Diesel"],
        "province": ["Gauteng", None],
        "import_job_id": [first.id, second.id],
        "updated_at": [
            stamp(before["m2@example.com"]["updated_at"]),
            stamp(after["m2@example.com"]["updated_at"]),
        ],
    }
    # The import that inserted a record stays its creator; unchanged rows keep their import.
    assert after["m1@example.com"]["created_job_id"] == first.id
    assert after["m0@example.com"]["import_job_id"] == first.id
    assert after["m9@example.com"]["created_job_id"] == second.id


def test_a_file_without_some_columns_logs_only_the_columns_it_changed(ctx, user_a):
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [mechanic(0, specialisation="Diesel"), mechanic(1)])
    provided = ["first_name", "last_name", "email", "mobile_number"]
    rows = [
        mechanic(0, first_name="Johnny", specialisation=None, city=None),
        mechanic(1, specialisation=None, city=None),
    ]
    saved = save(user_a, second, rows, provided=provided)
    assert (saved.updated, saved.unchanged) == (1, 1)
    log = changes_of(second)
    assert set(log) == {"m0@example.com"}
    assert set(log["m0@example.com"]) == {"first_name", "import_job_id", "updated_at"}
    assert log["m0@example.com"]["first_name"] == ["John", "Johnny"]
    stored = rows_by_key()["m0@example.com"]
    assert (stored["specialisation"], stored["city"]) == ("Diesel", "Pretoria")


def test_amounts_and_dates_are_logged_as_text_with_their_decimals(ctx, user_a):
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [policy("P-1"), policy("P-2"), policy("P-3", premium=None)], POLICIES)
    saved = save(
        user_a,
        second,
        [
            policy("P-1", premium="450.50", end_date="2027-06-30"),
            policy("P-2", sum_insured="250000.00"),  # the same amount: unchanged
            policy("P-3", premium="1000.00", start_date=None),
        ],
        POLICIES,
    )
    assert (saved.updated, saved.unchanged) == (2, 1)
    log = changes_of(second)
    assert log["P-1"]["premium"] == ["450.00", "450.50"]
    assert log["P-1"]["end_date"] == ["2026-12-31", "2027-06-30"]
    assert set(log["P-1"]) == {"premium", "end_date", "import_job_id", "updated_at"}
    assert log["P-3"]["premium"] == [None, "1000.00"]
    assert log["P-3"]["start_date"] == ["2026-01-01", None]


def test_a_chunk_rolled_back_leaves_neither_rows_nor_log(ctx, user_a):
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [mechanic(0)])
    upserter = Upserter(
        MECHANICS, user_a.organisation_id, second.id, MECHANICS.field_names, db.session
    )
    rows = [mechanic(0, city="Durban"), mechanic(1)]
    upserter.save({f: [row.get(f) for row in rows] for f in MECHANICS.field_names}, 2)
    connection = db.session.connection().connection.driver_connection
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RecordChange)) == 0
    assert set(rows_by_key()) == {"m0@example.com"}
    assert rows_by_key()["m0@example.com"]["city"] == "Pretoria"
    if db.engine.dialect.name == "sqlite":  # nor the temporary trigger on its connection
        triggers = "SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'"
        assert connection.execute(triggers).fetchone()[0] == 0
    assert save(user_a, second, rows).updated == 1, "the next chunk is saved and logged"
    assert set(changes_of(second)) == {"m0@example.com"}


def test_other_updates_on_the_same_connection_are_not_logged(ctx, user_a):
    """The log is the upsert's: another statement changing records afterwards (an undo, say)
    writes its own log or none, never the import's."""
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [mechanic(0)])
    save(user_a, second, [mechanic(0, city="Durban")])
    db.session.execute(update(TABLE).values(city="Cape Town", import_job_id=second.id))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(RecordChange)) == 1


def test_without_the_log_an_import_writes_no_creator_and_no_log(ctx, user_a):
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [mechanic(0)], log_changes=False)
    saved = save(user_a, second, [mechanic(0, city="Durban"), mechanic(1)], log_changes=False)
    assert (saved.inserted, saved.updated) == (1, 1)
    assert {r["created_job_id"] for r in rows_by_key().values()} == {None}
    assert db.session.scalar(select(func.count()).select_from(RecordChange)) == 0


def test_an_import_logs_every_record_it_updated_once_across_chunks(ctx, user_a, small_chunks):
    first = create_job(user_a, MECHANICS_HEADER + mechanic_rows(35))
    run_import(first.id)
    again = MECHANICS_HEADER + mechanic_rows(20, first_name="Jane") + mechanic_rows(25, start=20)
    second = create_job(user_a, again)
    run_import(second.id)
    db.session.refresh(second)
    assert (second.inserted_rows, second.updated_rows, second.unchanged_rows) == (10, 20, 15)
    log = changes_of(second)
    assert set(log) == {f"m{i}@example.com" for i in range(20)}
    assert all(c["first_name"] == ["John", "Jane"] for c in log.values())
    created = dict(db.session.execute(select(TABLE.c.email, TABLE.c.created_job_id)).all())
    assert {created[f"m{i}@example.com"] for i in range(35)} == {first.id}
    assert {created[f"m{i}@example.com"] for i in range(35, 45)} == {second.id}


def test_logged_timestamps_are_the_stored_ones(ctx, user_a):
    """``updated_at`` is logged exactly as stored, so undo can put it back as it was."""
    first, second = create_job(user_a, "x"), create_job(user_a, "x")
    save(user_a, first, [mechanic(0)])
    stored_before = db.session.scalar(select(TABLE.c.updated_at))
    save(user_a, second, [mechanic(0, city="Durban")])
    [old, new] = changes_of(second)["m0@example.com"]["updated_at"]
    assert datetime.fromisoformat(old) == stored_before
    assert datetime.fromisoformat(new) == db.session.scalar(select(TABLE.c.updated_at))
    if db.engine.dialect.name == "sqlite":  # the very text stored
        assert db.session.scalar(text("SELECT updated_at FROM mechanics")) == new
