"""Files as people export them — Afrikaans headers in Windows-1252, South African amounts,
JSON with nested objects and lists, placeholders for "no value", columns nobody maps —
analysed, reviewed and imported with a real RQ worker: nothing is guessed, nothing dropped
without a word, and the import reads every column as the review showed."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs.imports import import_inline, start_import
from bulkapp.jobs.review import change_mapping, commit_review
from bulkapp.models import ENTITY_TABLES, ImportJob, Organisation, ReviewPolicy, SavedMapping
from tests.conftest import fetch_job, run_worker

# A policies extract as an Afrikaans office exports it from Excel: a title row, semicolons,
# Windows-1252, amounts with a decimal comma, spaces between thousands and a currency, a
# broker column nobody imports, and placeholders where there is no value.
POLISSE = (
    "Polisuittreksel Maart 2026;;;;;;;;\n"
    "Polisnommer;Tipe;Polishouer;E-pos;Begindatum;Premie;Versekerde bedrag;Stand;Makelaar\n"
    "POL-1001;Motor;Hélène du Plessis;helene@voorbeeld.co.za;01/03/2026;450,50;"
    "R 250 000,00;Aktief;Sanlam\n"
    "POL-1002;Huis;Pieter Müller;pieter@voorbeeld.co.za;15/03/2026;R 1 234,50;N/A;"
    "Hangende;Santam\n"
    "POL-1003;Lewe;Thandi Nkosi;thandi@voorbeeld.co.za;31/03/2026;1,250;-;Aktief;\n"
    "POL-1004;Begrafnis;Sipho Dlamini;-;02/04/2026;99,95;R15 000;Verval;Old Mutual\n"
).encode("cp1252")


def upload(app, account, content: bytes | str, filename: str, entity: str, review, **extra):
    data = content.encode() if isinstance(content, str) else content
    with app.app_context():
        job, _ = start_import(
            user=account.load(),
            entity_type=entity,
            stream=io.BytesIO(data),
            filename=filename,
            review=review,
            **extra,
        )
        return job.id


def stored(app, entity: str, key: str, *columns: str) -> dict:
    table = ENTITY_TABLES[entity]
    with app.app_context():
        rows = db.session.execute(select(table.c[key], *(table.c[c] for c in columns)))
        return {row[0]: tuple(row[1:]) for row in rows}


def test_an_import_without_a_review_reads_amounts_as_the_column_writes_them(app, user_a):
    job_id = upload(app, user_a, POLISSE, "polisse.csv", "policies", review=None)
    run_worker(app)

    job = fetch_job(app, job_id)
    assert job.status == "completed", job.error_message
    assert (job.inserted_rows, job.invalid_rows) == (4, 0)
    assert stored(app, "policies", "policy_number", "premium", "sum_insured", "status") == {
        "POL-1001": (Decimal("450.50"), Decimal("250000.00"), "active"),
        "POL-1002": (Decimal("1234.50"), None, "pending"),
        "POL-1003": (Decimal("1.25"), None, "active"),
        "POL-1004": (Decimal("99.95"), Decimal("15000.00"), "lapsed"),
    }
    assert stored(app, "policies", "policy_number", "holder_name", "holder_email")["POL-1004"] == (
        "Sipho Dlamini",
        None,
    )
    assert "Unknown column 'Makelaar' was ignored." in job.warnings
    assert (
        "premium: 1 row with values that read two ways (e.g. '1,250') were read with a "
        "decimal comma, the way the rest of the column is written, as in '450,50'."
    ) in job.warnings


def test_the_review_shows_how_each_column_was_read_and_what_is_left_out(app, user_a):
    job_id = upload(app, user_a, POLISSE, "polisse.csv", "policies", ReviewPolicy.CERTAIN)
    run_worker(app)

    job = fetch_job(app, job_id)
    assert job.status == "needs_review", "a column with values is left out: a person sees it"
    analysis = job.analysis
    assert analysis["counts"] == {
        "total": 4,
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    readings = {r["field"]: r for r in analysis["readings"]}
    assert readings["premium"]["format"] == "decimal_comma"
    assert readings["premium"]["source"] == "file"
    assert readings["premium"]["read_as"] == "decimal comma, as in '450,50' (3 rows)"
    assert readings["premium"]["example"] == ["450,50", "450.50"]
    assert readings["premium"]["ambiguous"] == {"1,250": 1}
    assert readings["start_date"]["format"] == "day_first"
    assert readings["start_date"]["read_as"] == "day first, as in '15/03/2026' (2 rows)"
    assert readings["start_date"]["example"] == ["15/03/2026", "2026-03-15"]
    assert analysis["empty_values"] == {"sum_insured": {"N/A": 1, "-": 1}, "holder_email": {"-": 1}}
    assert analysis["not_imported"] == [
        {
            "position": 8,
            "header": "Makelaar",
            "rows": 3,
            "samples": ["Sanlam", "Santam", "Old Mutual"],
            "might_be": None,
        }
    ]
    assert analysis["certain"] is False

    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
        job = db.session.get(ImportJob, job_id)
        assert job.mapping["formats"] == {
            "premium": "decimal_comma",
            "sum_insured": "decimal_comma",
            "start_date": "day_first",
        }
    run_worker(app)
    assert fetch_job(app, job_id).status == "completed"
    assert stored(app, "policies", "policy_number", "premium")["POL-1003"] == (Decimal("1.25"),)
    with app.app_context():
        saved = db.session.scalar(select(SavedMapping))
        assert "formats" not in saved.mapping, "formats the file showed are the file's own"
        assert saved.mapping["columns"]["Makelaar"] is None


def test_a_dry_run_compares_amounts_read_with_a_comma_to_those_stored(app, user_a):
    stored_first = "policyNumber,type,premium\nP-1,motor,450.50\nP-2,motor,99.95\nP-3,home,1250\n"
    upload(app, user_a, stored_first, "first.csv", "policies", review=None)
    run_worker(app)
    again = (
        "Polisnommer;Tipe;Premie\n"
        "P-1;motor;450,50\nP-2;motor;R 109,95\nP-3;huis;1.250\nP-4;huis;5,00\n"
    )

    job_id = upload(app, user_a, again, "again.csv", "policies", ReviewPolicy.ALWAYS)
    run_worker(app)
    analysis = fetch_job(app, job_id).analysis
    expected = {"total": 4, "inserted": 1, "updated": 1, "unchanged": 2, "rejected": 0}
    assert analysis["counts"] == expected
    assert analysis["updates"][0]["changes"] == [
        {"field": "premium", "old": "99.95", "new": "109.95"}
    ]
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.inserted_rows, job.updated_rows, job.unchanged_rows) == (1, 1, 2)


AMBIGUOUS = (
    'Policy No,Type,Premium,Sum Insured\nP-1,motor,"1,250","250,000"\nP-2,home,450,"2,500"\n'
)


def test_values_nobody_can_read_for_sure_are_rejected_until_a_person_chooses(app, user_a):
    job_id = upload(app, user_a, AMBIGUOUS, "ambiguous.csv", "policies", ReviewPolicy.ALWAYS)
    run_worker(app)

    job = fetch_job(app, job_id)
    assert job.status == "needs_review"
    assert job.analysis["counts"]["rejected"] == 2
    readings = {r["field"]: r for r in job.analysis["readings"]}
    premium = readings["premium"]
    assert (premium["format"], premium["ambiguous"]) == (None, {"1,250": 1})
    assert premium["read_as"] == "not decided: no value shows which mark is the decimal one"
    assert [(o["format"], o["reads"]) for o in premium["options"]] == [
        ("decimal_point", "1250"),
        ("decimal_comma", "1.25"),
    ]
    assert job.analysis["certain"] is False

    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        mapping = {
            "columns": {c["header"]: c["chosen"] for c in job.analysis["columns"]},
            "formats": {"premium": "decimal_point", "sum_insured": "decimal_point"},
        }
        change_mapping(job, mapping)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert job.analysis["counts"]["rejected"] == 0
    assert {r["field"]: r["source"] for r in job.analysis["readings"]} == {
        "premium": "mapping",
        "sum_insured": "mapping",
    }
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    assert fetch_job(app, job_id).status == "completed"
    assert stored(app, "policies", "policy_number", "premium", "sum_insured") == {
        "P-1": (Decimal("1250.00"), Decimal("250000.00")),
        "P-2": (Decimal("450.00"), Decimal("2500.00")),
    }
    with app.app_context():
        saved = db.session.scalar(select(SavedMapping))
        assert saved.mapping["formats"] == {
            "premium": "decimal_point",
            "sum_insured": "decimal_point",
        }, "a format a person chose is remembered"


def test_an_import_without_a_review_rejects_values_it_cannot_read_for_sure(app, user_a):
    job_id = upload(app, user_a, AMBIGUOUS, "ambiguous.csv", "policies", review=None)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 0, 2)
    assert any(w.startswith("premium: 1 row with values that read two ways") for w in job.warnings)


def test_evidence_after_the_first_chunks_decides_the_whole_column(app, user_a):
    """Chunks of 4 rows: the rows that read two ways come first, the value that shows the
    decimal comma last; the analysis and the import both read the whole column first."""
    app.config["IMPORT_CHUNK_ROWS"] = 4
    rows = "".join(f'P-{i},motor,"{i},500"\n' for i in range(1, 10)) + 'P-10,motor,"12,34"\n'
    content = "policyNumber,type,premium\n" + rows

    review_id = upload(app, user_a, content, "late.csv", "policies", ReviewPolicy.ALWAYS)
    run_worker(app)
    analysis = fetch_job(app, review_id).analysis
    assert analysis["counts"]["rejected"] == 0 and analysis["counts"]["inserted"] == 10
    assert analysis["preview"]["rows"][0]["values"] == ["P-1", "motor", "1.50"]

    import_id = upload(app, user_a, content, "late.csv", "policies", review=None)
    run_worker(app)
    job = fetch_job(app, import_id)
    assert (job.inserted_rows, job.invalid_rows) == (10, 0)
    premiums = stored(app, "policies", "policy_number", "premium")
    assert premiums["P-3"] == (Decimal("3.50"),) and premiums["P-10"] == (Decimal("12.34"),)


# A mechanics export of another app: nested objects, lists, fields nobody has a column for.
NESTED = json.dumps(
    [
        {
            "id": 17,
            "firstName": "Sipho",
            "lastName": "Dlamini",
            "contact": {"email": "sipho@example.com", "mobile": "+27 82 555 0101"},
            "workshop": {"name": "Doe Motors", "city": "Pretoria", "province": "GP"},
            "skills": ["Diesel", "Auto electrical"],
            "yearsExperience": 12,
            "tags": ["night shift"],
        },
        {
            "id": 18,
            "firstName": "Anna",
            "lastName": "Venter",
            "contact": {"email": "anna@example.com", "mobile": ["082 555 0102", "083 555 0103"]},
            "workshop": {"name": "Bay Motors", "city": "Gqeberha", "province": "Oos-Kaap"},
            "skills": [],
            "yearsExperience": None,
        },
    ]
)


def test_nested_objects_map_by_their_path_and_lists_are_joined_or_rejected(app, user_a):
    job_id = upload(app, user_a, NESTED, "export.json", "mechanics", ReviewPolicy.ALWAYS)
    run_worker(app)
    analysis = fetch_job(app, job_id).analysis
    chosen = {c["header"]: c["chosen"] for c in analysis["columns"]}
    assert chosen == {
        "id": None,
        "firstName": "first_name",
        "lastName": "last_name",
        "contact.email": "email",
        "contact.mobile": "mobile_number",
        "workshop.name": "workshop_name",
        "workshop.city": "city",
        "workshop.province": "province",
        "skills": "specialisation",
        "yearsExperience": "years_experience",
        "tags": None,
    }
    assert [(c["header"], c["rows"]) for c in analysis["not_imported"]] == [("id", 2), ("tags", 1)]
    assert analysis["counts"]["rejected"] == 1
    assert analysis["rejections"] == [
        {
            "column": "mobileNumber",
            "reason": "mobileNumber is a list of values; it takes one value.",
            "rows": 1,
        }
    ]

    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 1, 1)
    assert stored(
        app, "mechanics", "email", "workshop_name", "city", "province", "specialisation"
    ) == {"sipho@example.com": ("Doe Motors", "Pretoria", "Gauteng", "Diesel, Auto electrical")}


def test_a_column_left_out_stops_the_browser_until_a_saved_mapping_leaves_it_out(app, user_a):
    content = "Name,Surname,Email,Cell,Shoe size\nAnn,Lee,ann@example.com,0821234567,7\n"
    empty_extra = "Name,Surname,Email,Cell,Notes\nBen,Lee,ben@example.com,0821234568,\n"

    first = upload(app, user_a, content, "staff.csv", "mechanics", ReviewPolicy.CERTAIN)
    quiet = upload(app, user_a, empty_extra, "staff2.csv", "mechanics", ReviewPolicy.CERTAIN)
    run_worker(app)
    assert fetch_job(app, first).status == "needs_review"
    assert fetch_job(app, quiet).status == "completed", "a column without values hides nothing"

    with app.app_context():
        commit_review(db.session.get(ImportJob, first), user_a.load())
    run_worker(app)
    again = upload(app, user_a, content, "staff.csv", "mechanics", ReviewPolicy.SAVED)
    run_worker(app)
    job = fetch_job(app, again)
    assert (job.status, job.phase) == ("completed", "import"), "the saved mapping left it out"


def test_a_column_without_a_header_that_holds_values_is_named_in_the_warnings(app, tmp_path):
    from tests.conftest import make_account

    make_account(app, "org-cli", "cli@example.com")
    path = tmp_path / "staff.csv"
    path.write_text("Name,Surname,Email,Cell,\nAnn,Lee,ann@example.com,0821234567,VIP\n")
    with app.app_context():
        organisation = db.session.scalar(select(Organisation).where(Organisation.slug == "org-cli"))
        job = import_inline(organisation=organisation, entity_type="mechanics", path=path)
        assert job.status == "completed"
        assert job.warnings == [
            "Column 5 has no header but values in 1 row (e.g. 'VIP'): not imported."
        ]


MEMBERS = (
    "Naam,Van,ID-nommer,Geslag,Selfoon,Provinsie\n"
    "Thandi,Nkosi,8001015009087,Meisie,TBA,N/A\n"
    "Pieter,Botha,9202204720083,onbekend,082 555 0101,Wes-Kaap\n"
)


def test_values_a_person_leaves_empty_are_stored_empty(app, user_a):
    job_id = upload(app, user_a, MEMBERS, "lede.csv", "members", ReviewPolicy.ALWAYS)
    run_worker(app)
    analysis = fetch_job(app, job_id).analysis
    assert {c["header"]: c["chosen"] for c in analysis["columns"]} == {
        "Naam": "first_name",
        "Van": "last_name",
        "ID-nommer": "id_number",
        "Geslag": "gender",
        "Selfoon": "mobile_number",
        "Provinsie": "province",
    }
    assert analysis["unknown_values"] == {"gender": {"Meisie": 1, "onbekend": 1}}
    assert analysis["refused_values"] == {"mobile_number": {"TBA": 1}}
    assert analysis["empty_values"] == {"province": {"N/A": 1}}
    assert analysis["counts"]["rejected"] == 2

    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        mapping = {
            "columns": {c["header"]: c["chosen"] for c in job.analysis["columns"]},
            "values": {
                "gender": {"Meisie": "female", "onbekend": None},
                "mobile_number": {"TBA": None},
            },
        }
        change_mapping(job, mapping)
    run_worker(app)
    assert fetch_job(app, job_id).analysis["counts"]["rejected"] == 0
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    assert stored(app, "members", "id_number", "gender", "mobile_number", "province") == {
        "8001015009087": ("female", None, None),
        "9202204720083": (None, "0825550101", "Western Cape"),
    }
