from sqlalchemy import select

from bulkapp.entities import get_entity
from bulkapp.extensions import db
from bulkapp.ingest.persist import Comparer, Upserter
from bulkapp.models import ENTITY_TABLES
from tests.ingest.conftest import create_job

MECHANICS = get_entity("mechanics")
TABLE = ENTITY_TABLES["mechanics"]


def columns(rows: list[dict]) -> dict[str, list]:
    return {name: [row.get(name) for row in rows] for name in MECHANICS.field_names}


def mechanic(i: int, **changes) -> dict:
    return {
        "first_name": "John",
        "last_name": f"Doe{i}",
        "email": f"m{i}@example.com",
        "mobile_number": "0821234567",
        "years_experience": i,
        "city": "Pretoria",
        "province": "Gauteng",
        **changes,
    }


def save(account, job_id, rows, provided=None):
    """Upsert ``rows`` as job ``job_id`` (None: a new job) and commit."""
    job_id = job_id or create_job(account, "x").id
    upserter = Upserter(
        MECHANICS, account.organisation_id, job_id, provided or MECHANICS.field_names, db.session
    )
    saved = upserter.save(columns(rows), len(rows))
    db.session.commit()
    return saved


def stored(account=None):
    query = select(TABLE).order_by(TABLE.c.email)
    if account is not None:
        query = query.where(TABLE.c.organisation_id == account.organisation_id)
    return db.session.execute(query).mappings().all()


def test_inserts_updates_and_unchanged_are_counted_exactly(ctx, user_a):
    first = save(user_a, None, [mechanic(i) for i in range(5)])
    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    again = save(
        user_a,
        None,
        [
            mechanic(0),
            mechanic(1, city="Durban"),
            mechanic(2, years_experience=30),
            mechanic(3),
            mechanic(7),
        ],
    )
    assert (again.inserted, again.updated, again.unchanged) == (1, 2, 2)
    rows = stored(user_a)
    assert len(rows) == 6
    assert {r["email"]: r["city"] for r in rows}["m1@example.com"] == "Durban"
    assert {r["email"]: r["years_experience"] for r in rows}["m2@example.com"] == 30


def test_updated_and_inserted_rows_carry_the_job_and_unchanged_rows_keep_theirs(ctx, user_a):
    job_one = create_job(user_a, "x")
    job_two = create_job(user_a, "x")
    save(user_a, job_one.id, [mechanic(0), mechanic(1)])
    save(user_a, job_two.id, [mechanic(0), mechanic(1, city="Durban")])
    by_email = {r["email"]: r for r in stored(user_a)}
    assert by_email["m0@example.com"]["import_job_id"] == job_one.id
    assert by_email["m1@example.com"]["import_job_id"] == job_two.id
    assert by_email["m1@example.com"]["updated_at"] >= by_email["m0@example.com"]["updated_at"]


def test_the_same_key_in_two_organisations_is_two_rows(ctx, user_a, user_b):
    save(user_a, None, [mechanic(0)])
    saved = save(user_b, None, [mechanic(0, city="Durban")])
    assert saved.inserted == 1
    assert [r["city"] for r in stored(user_a)] == ["Pretoria"]
    assert [r["city"] for r in stored(user_b)] == ["Durban"]


def test_columns_missing_from_the_file_are_left_alone_on_update(ctx, user_a):
    save(user_a, None, [mechanic(0, specialisation="Diesel")])
    provided = ["first_name", "last_name", "email", "mobile_number"]
    saved = save(
        user_a,
        None,
        [{**mechanic(0, first_name="Johnny"), "specialisation": None}],
        provided=provided,
    )
    assert (saved.inserted, saved.updated) == (0, 1)
    [row] = stored(user_a)
    assert row["first_name"] == "Johnny" and row["specialisation"] == "Diesel"


def test_dates_and_decimals_compare_equal_on_re_upload(ctx, user_a):
    policies = get_entity("policies")
    job_id = create_job(user_a, "x").id
    upserter = Upserter(policies, user_a.organisation_id, job_id, policies.field_names, db.session)
    row = {
        "policy_number": "P-1",
        "type": "motor",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "premium": "450.00",
        "sum_insured": "250000.00",
    }
    data = {name: [row.get(name)] for name in policies.field_names}
    assert upserter.save(data, 1).inserted == 1
    db.session.commit()
    assert upserter.save(data, 1).unchanged == 1
    db.session.commit()
    changed = {**data, "premium": ["450.50"]}
    assert upserter.save(changed, 1).updated == 1
    db.session.commit()


def compare(account, rows, provided):
    """What storing ``rows`` (with only the ``provided`` fields) would do: (new, updated,
    unchanged)."""
    comparer = Comparer(MECHANICS, account.organisation_id, provided, db.session)
    given = {name: [row.get(name) for row in rows] for name in provided}
    compared = comparer.compare(given, len(rows), 0)
    return compared.inserted, compared.updated, compared.unchanged


def test_files_with_other_columns_are_compared_on_one_connection(ctx, user_a):
    """A temporary table outlives its file on a pooled connection: the next file's columns
    must not meet the last one's."""
    save(user_a, None, [mechanic(0), mechanic(1)])
    narrow = ["first_name", "last_name", "email", "city"]
    wide = [*narrow, "years_experience", "province"]
    assert compare(user_a, [mechanic(0, city="Durban"), mechanic(5)], narrow) == (1, 1, 0)
    db.session.commit()
    changed = [mechanic(0), mechanic(1, years_experience=40)]
    assert compare(user_a, changed, wide) == (0, 1, 1)


def test_a_comparison_goes_on_when_its_next_chunk_gets_another_connection(ctx, user_a):
    save(user_a, None, [mechanic(0), mechanic(1)])
    provided = MECHANICS.field_names
    comparer = Comparer(MECHANICS, user_a.organisation_id, provided, db.session)
    first = {name: [mechanic(0).get(name)] for name in provided}
    assert comparer.compare(first, 1, 0).unchanged == 1
    db.session.commit()
    db.session.connection().invalidate()  # the pool hands the next chunk a new connection
    db.session.rollback()
    second = {name: [mechanic(1, city="Durban").get(name)] for name in provided}
    assert comparer.compare(second, 1, 0).updated == 1
