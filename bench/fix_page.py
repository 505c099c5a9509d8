"""The fix page at benchmark scale: how long the page of a job with 100,000 rejected rows
takes to answer, whole (through the app: the queries, the grid's template), and the API's
page and one edit.

``measure(url)`` makes an organisation with one finished job whose 100,000 rejected rows
(four reasons in three columns, as ``jobs.rejections.keep_rejections`` stores them with
their chunks) are kept, signs its uploader in, and times each of ``VIEWS`` through the test
client: the median of ``REPEAT`` runs after one that warms the caches. On PostgreSQL it runs
ANALYZE first, as autovacuum would after an import that size.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import text

REJECTED_ROWS = 100_000
BATCH = 5_000
REPEAT = 7
TARGET_MS = 200
HEADERS = ("firstName", "lastName", "email", "mobileNumber", "province")
# (label, the page's query string): the page as a person opens and filters it.
VIEWS: list[tuple[str, str]] = [
    ("fix page, first page", ""),
    ("fix page, a page in the middle", "after=50000"),
    ("fix page, the last page", "before=2000000000"),
    ("fix page, filtered by a reason", "reason=REASON"),
    ("fix page, filtered by a reason, middle", "reason=REASON&after=50000"),
    ("fix page, filtered by column (province)", "column=4"),
    ("fix page, filtered by state (fixed: none)", "state=fixed"),
    ("API page of 50 rows, filtered by column", "API"),
    ("one edit, checked again (API PATCH)", "PATCH"),
]


def _rows(first: int) -> list:
    """Rejected rows ``first``… (a batch), each with one of four problems."""
    from bulkapp.ingest.rejected import CellError, Rejection

    problems = [
        (2, "email", "email 'user{n}-at-example.com' is not a valid e-mail address."),
        (3, "mobile_number", "mobileNumber '12' must be a phone number of 9 to 15 digits."),
        (4, "province", "province 'Atlantis' is not one of: Gauteng, Limpopo, …"),
        (
            2,
            "email",
            "Duplicate email 'user{n}@example.com': an earlier row of this file has "
            "the same value.",
        ),
    ]
    rows = []
    for n in range(first, first + BATCH):
        column, field, message = problems[n % 4]
        cells = ["Thandi", "Nkosi", f"user{n}@example.com", "0821234567", "Gauteng"]
        cells[column] = {2: f"user{n}-at-example.com", 3: "12", 4: "Atlantis"}[column]
        if n % 4 == 3:
            cells[2] = f"user{n}@example.com"
        key = None if column == 2 and n % 4 == 0 else f"user{n}@example.com"
        error = CellError(HEADERS[column], field, message.format(n=n))
        rows.append(Rejection(n + 2, cells, [error], key))
    return rows


def _make_job(app) -> tuple[str, int, str]:
    """An organisation's finished job with ``REJECTED_ROWS`` kept rejected rows; (job id,
    uploader id, an API token of the uploader)."""
    from bulkapp.extensions import db
    from bulkapp.ingest.mapping import ColumnMapping
    from bulkapp.ingest.rejected import FileLayout, Rejections
    from bulkapp.jobs.rejections import keep_rejections
    from bulkapp.models import ImportJob, utcnow
    from bulkapp.people.organisations import create_organisation, find_organisation
    from bulkapp.people.users import create_user
    from bulkapp.tokens import create_token

    organisation = find_organisation("bench-fix") or create_organisation("Bench fix", "bench-fix")
    user, _ = create_user(
        organisation=organisation, email=f"fix-{time.time_ns()}@bench.example", role="member"
    )
    job = ImportJob(
        organisation_id=organisation.id,
        user_id=user.id,
        entity_type="mechanics",
        original_filename="mechanics-rejected.csv",
        status="completed",
        stage="done",
        progress=100,
        finished_at=utcnow(),
        total_rows=REJECTED_ROWS,
        invalid_rows=REJECTED_ROWS,
        rejected_rows_kept=REJECTED_ROWS,
    )
    db.session.add(job)
    db.session.flush()
    layout = FileLayout.of(
        HEADERS,
        ColumnMapping(
            positions={
                "first_name": 0,
                "last_name": 1,
                "email": 2,
                "mobile_number": 3,
                "province": 4,
            }
        ),
    )
    for first in range(0, REJECTED_ROWS, BATCH):
        keep_rejections(job, Rejections(layout, _rows(first)))
        db.session.commit()
    _, token = create_token(user, "bench")
    db.session.commit()
    return job.id, user.id, token


def measure(url: str) -> dict:
    """Time each of ``VIEWS`` on a job with ``REJECTED_ROWS`` rejected rows; ms by label."""
    from urllib.parse import quote

    from bench.child import make_app
    from bulkapp.extensions import db
    from bulkapp.jobs.fixes import problem_summary
    from bulkapp.models import ImportJob, User

    app = make_app(url)
    with app.app_context():
        job_id, user_id, token = _make_job(app)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        reason = problem_summary(db.session.get(ImportJob, job_id)).reasons[0][0]
        generation = db.session.get(User, user_id).session_generation
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:{generation}"
        session["_fresh"] = True
    api = {"Authorization": f"Bearer {token}"}
    timings: dict[str, float] = {}
    for label, query in VIEWS:
        runs = []
        for attempt in range(REPEAT + 1):
            started = time.perf_counter()
            if query == "API":
                response = client.get(
                    f"/api/v1/bulk-upload/{job_id}/rejected?column=province", headers=api
                )
            elif query == "PATCH":
                row = 2 + 4 * (attempt + 10)  # a bad e-mail, given a good one
                response = client.patch(
                    f"/api/v1/bulk-upload/{job_id}/rejected/{row}",
                    json={"cells": {"email": f"fixed{attempt}@example.com"}},
                    headers=api,
                )
            else:
                path = f"/jobs/{job_id}/fix?" + query.replace("REASON", quote(reason))
                response = client.get(path)
            assert response.status_code == 200, (label, response.status_code)
            if attempt:  # the first run only warms the caches
                runs.append((time.perf_counter() - started) * 1000)
        timings[label] = statistics.median(runs)
    return {"rows": REJECTED_ROWS, "timings": timings}


def print_table(results: dict[str, dict]) -> None:
    """The timings of each database side by side, each against the target."""
    if not results:
        return
    databases = list(results)
    print(
        f"Fix page of a job with {REJECTED_ROWS:,} rejected rows: one request through the app "
        f"(queries and template), median of {REPEAT} runs, ms (target ≤ {TARGET_MS})"
    )
    header = f"{'view':<44}" + "".join(f"{name:>12}" for name in databases) + "  result"
    print(header)
    print("-" * len(header))
    for label, _ in VIEWS:
        figures = [results[name]["timings"][label] for name in databases]
        cells = "".join(f"{figure:>12.1f}" for figure in figures)
        met = all(figure <= TARGET_MS for figure in figures)
        print(f"{label:<44}{cells}  {'met' if met else 'MISSED'}")
