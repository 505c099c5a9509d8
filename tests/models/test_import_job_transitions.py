"""The ImportJob state machine: every transition from every status, table-driven, on the real
database; illegal moves raise; an import's end is announced once its transaction commits."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bulkapp.extensions import db
from bulkapp.models import (
    ANALYSIS,
    CANCELED,
    COMPLETED,
    FAILED,
    IMPORT,
    NEEDS_REVIEW,
    PROCESSING,
    QUEUED,
    IllegalTransition,
    ImportJob,
    ImportPhase,
    ImportStage,
    ImportStatus,
    on_ended,
)

PACKAGE = Path(__file__).resolve().parents[2] / "bulkapp"
MODEL = PACKAGE / "models" / "import_job.py"

PROGRESS = dict(
    stage="saving",
    percent=40,
    rows_done=20,
    counts={
        "total": 20,
        "valid": 19,
        "invalid": 1,
        "duplicates": 0,
        "inserted": 19,
        "updated": 0,
        "unchanged": 0,
    },
    stage_seconds={"parsing": 0.1},
    warnings=[],
    checkpoint={"phase": "write", "rows_done": 20},
    rejected=False,
)

MAPPING = {"columns": {"Cell Number": "mobile_number"}, "values": {}}

# transition → the call, the phase of the job it is tried on, then for every status it starts
# from: the (status, stage) it leads to, or None where it is illegal (a status left out is
# illegal too).
TRANSITIONS = {
    "start_attempt": (
        lambda job: job.start_attempt(),
        IMPORT,
        {
            QUEUED: (PROCESSING, "parsing"),
            PROCESSING: (PROCESSING, "parsing"),
            FAILED: (PROCESSING, "parsing"),
            COMPLETED: None,
            CANCELED: None,
        },
    ),
    "record_progress": (
        lambda job: job.record_progress(**PROGRESS),
        IMPORT,
        {
            QUEUED: None,
            PROCESSING: (PROCESSING, "saving"),
            FAILED: None,
            COMPLETED: None,
            CANCELED: None,
        },
    ),
    "finish completed": (
        lambda job: job.finish(COMPLETED, 1.5),
        IMPORT,
        {
            QUEUED: None,
            PROCESSING: (COMPLETED, "done"),
            FAILED: None,
            COMPLETED: None,
            CANCELED: None,
        },
    ),
    "finish canceled": (
        lambda job: job.finish(CANCELED, 1.5),
        IMPORT,
        {
            QUEUED: None,
            PROCESSING: (CANCELED, "done"),
            FAILED: None,
            COMPLETED: None,
            CANCELED: None,
        },
    ),
    "fail": (
        lambda job: job.fail("The file is broken.", "Traceback: ...", 2.0),
        IMPORT,
        {QUEUED: None, PROCESSING: (FAILED, "done"), FAILED: None, COMPLETED: None, CANCELED: None},
    ),
    "retry_later": (
        lambda job: job.retry_later("Attempt 1 failed.", None, 2.0),
        IMPORT,
        {
            QUEUED: None,
            PROCESSING: (QUEUED, "retrying"),
            FAILED: None,
            COMPLETED: None,
            CANCELED: None,
        },
    ),
    "cancel": (
        lambda job: job.cancel(),
        IMPORT,
        {
            QUEUED: (CANCELED, "done"),
            PROCESSING: (PROCESSING, "saving"),
            FAILED: None,
            COMPLETED: None,
            CANCELED: None,
            NEEDS_REVIEW: (CANCELED, "done"),
        },
    ),
    "requeue": (
        lambda job: job.requeue(),
        IMPORT,
        {
            QUEUED: None,
            PROCESSING: None,
            FAILED: (QUEUED, "queued"),
            COMPLETED: None,
            CANCELED: (QUEUED, "queued"),
        },
    ),
    "start_attempt of an analysis": (
        lambda job: job.start_attempt(),
        ANALYSIS,
        {
            QUEUED: (PROCESSING, "analysing"),
            PROCESSING: (PROCESSING, "analysing"),
            FAILED: (PROCESSING, "analysing"),
        },
    ),
    "record_analysis": (
        lambda job: job.record_analysis(percent=30, rows_done=100),
        ANALYSIS,
        {PROCESSING: (PROCESSING, "analysing")},
    ),
    "record_analysis of an import": (
        lambda job: job.record_analysis(percent=30, rows_done=100),
        IMPORT,
        {},
    ),
    "record_progress of an analysis": (
        lambda job: job.record_progress(**PROGRESS),
        ANALYSIS,
        {},
    ),
    "finish_analysis for review": (
        lambda job: job.finish_analysis({"counts": {}}, import_now=False, seconds=1.0),
        ANALYSIS,
        {PROCESSING: (NEEDS_REVIEW, "review")},
    ),
    "finish_analysis straight to the import": (
        lambda job: job.finish_analysis({"counts": {}}, import_now=True, seconds=1.0),
        ANALYSIS,
        {PROCESSING: (QUEUED, "queued")},
    ),
    "finish_analysis of an import": (
        lambda job: job.finish_analysis({"counts": {}}, import_now=False),
        IMPORT,
        {},
    ),
    "finish completed of an analysis": (
        lambda job: job.finish(COMPLETED, 1.5),
        ANALYSIS,
        {},
    ),
    "finish canceled of an analysis": (
        lambda job: job.finish(CANCELED, 1.5),
        ANALYSIS,
        {PROCESSING: (CANCELED, "done")},
    ),
    "commit_review": (
        lambda job: job.commit_review(MAPPING),
        ANALYSIS,
        {NEEDS_REVIEW: (QUEUED, "queued")},
    ),
    "reanalyse": (
        lambda job: job.reanalyse(MAPPING, "members"),
        ANALYSIS,
        {NEEDS_REVIEW: (QUEUED, "queued")},
    ),
    "cancel of a review (discard)": (
        lambda job: job.cancel(),
        ANALYSIS,
        {
            QUEUED: (CANCELED, "done"),
            PROCESSING: (PROCESSING, "analysing"),
            NEEDS_REVIEW: (CANCELED, "done"),
        },
    ),
    "expire_review": (
        lambda job: job.expire_review(),
        ANALYSIS,
        {NEEDS_REVIEW: (CANCELED, "done")},
    ),
}
# The phase each transition leaves the job in, where it changes it.
PHASE_AFTER = {
    "finish_analysis straight to the import": IMPORT,
    "commit_review": IMPORT,
    "reanalyse": ANALYSIS,
}
CASES = [
    (name, status, outcomes.get(status))
    for name, (_, _, outcomes) in TRANSITIONS.items()
    for status in ImportStatus
]
ENDINGS = {
    "finish completed",
    "finish canceled",
    "fail",
    "finish canceled of an analysis",
    "expire_review",
}


def job_in(account, status: ImportStatus, phase: ImportPhase = IMPORT) -> ImportJob:
    working = "analysing" if phase == ANALYSIS else "saving"
    stage = {QUEUED: "queued", PROCESSING: working, NEEDS_REVIEW: "review"}.get(status, "done")
    job = ImportJob(
        organisation_id=account.organisation_id,
        user_id=account.id,
        entity_type="mechanics",
        original_filename="m.csv",
        status=status,
        stage=stage,
        attempts=1,
        phase=phase,
    )
    db.session.add(job)
    db.session.commit()
    return job


@pytest.fixture
def endings():
    """The ids the state machine announces as ended, in order."""
    heard: list[str] = []
    on_ended.append(heard.append)
    yield heard
    on_ended.remove(heard.append)


@pytest.mark.parametrize(
    ("transition", "status", "expected"),
    CASES,
    ids=[f"{name} from {status}" for name, status, _ in CASES],
)
def test_every_transition_from_every_status(ctx, user_a, endings, transition, status, expected):
    move, phase, _ = TRANSITIONS[transition]
    job = job_in(user_a, status, phase)
    if expected is None:
        with pytest.raises(IllegalTransition):
            move(job)
        db.session.rollback()
        assert (db.session.get(ImportJob, job.id).status, endings) == (status, [])
        return
    move(job)
    db.session.commit()
    stored = db.session.get(ImportJob, job.id)
    assert (stored.status, stored.stage) == expected
    assert stored.phase == PHASE_AFTER.get(transition, phase)
    ended = transition in ENDINGS or (transition.startswith("cancel") and stored.status == CANCELED)
    assert endings == ([job.id] if ended else [])
    assert (stored.finished_at is not None) == (stored.status in (COMPLETED, FAILED, CANCELED))


def test_a_review_keeps_what_the_analysis_found_and_the_chosen_mapping(ctx, user_a):
    job = job_in(user_a, PROCESSING, ANALYSIS)
    job.record_analysis(percent=40, rows_done=500)
    job.finish_analysis({"counts": {"inserted": 3}}, import_now=False, seconds=2.0)
    db.session.commit()
    assert (job.analysis["counts"], job.progress, job.processing_duration_ms) == (
        {"inserted": 3},
        100,
        2000,
    )
    assert job.analysis["analysis_attempts"] == job.attempts, "the review starts its clock"
    assert "analysed_at" in job.analysis
    job.reanalyse(MAPPING, "members")
    assert (job.entity_type, job.analysis, job.progress) == ("members", None, 0)
    job.start_attempt()
    job.finish_analysis({"counts": {"inserted": 4}}, import_now=False)
    job.commit_review(MAPPING)
    db.session.commit()
    stored = db.session.get(ImportJob, job.id)
    assert (stored.phase, stored.mapping, stored.checkpoint, stored.processed_rows) == (
        IMPORT,
        MAPPING,
        {},
        0,
    )
    assert stored.analysis["review_seconds"] >= 0, "the time in review is kept apart"


def test_an_expired_review_says_why(ctx, user_a, endings):
    job = job_in(user_a, NEEDS_REVIEW, ANALYSIS)
    job.expire_review()
    db.session.commit()
    assert "Upload the file again" in job.error_message and endings == [job.id]


def test_an_ending_rolled_back_is_not_announced(ctx, user_a, endings):
    job = job_in(user_a, PROCESSING)
    job.fail("The file is broken.")
    db.session.rollback()
    db.session.commit()
    assert endings == [] and db.session.get(ImportJob, job.id).status == PROCESSING


def test_an_attempt_is_claimed_by_one_claimant_only(ctx, user_a):
    job = job_in(user_a, QUEUED)
    with Session(db.engine) as other_worker:
        same_job = other_worker.get(ImportJob, job.id)
        assert job.start_attempt() == 2
        db.session.commit()  # the attempt commits its claim before it starts work
        assert same_job.start_attempt() is None, "someone else runs attempt 2"
    assert db.session.get(ImportJob, job.id).attempts == 2


def test_progress_never_goes_back_and_finishing_completes_it(ctx, user_a):
    job = job_in(user_a, PROCESSING)
    job.record_progress(**{**PROGRESS, "percent": 60})
    job.record_progress(**{**PROGRESS, "percent": 40})
    assert job.progress == 60
    with pytest.raises(IllegalTransition):
        job.record_progress(**{**PROGRESS, "stage": "done"})
    job.finish(COMPLETED, 3.0)
    assert job.progress == 100 and job.processing_duration_ms == 3000
    assert (job.status, job.stage) == (ImportStatus.COMPLETED, ImportStage.DONE)


def test_only_the_state_machine_writes_an_imports_status_or_stage():
    """Every assignment to ``.status`` or ``.stage`` of an import lives in models/import_job.py
    (other classes may have attributes of those names: the check is about ImportJob rows)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == MODEL:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            )
            for target in targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if (
                        isinstance(element, ast.Attribute)
                        and element.attr in ("status", "stage")
                        and not (isinstance(element.value, ast.Name) and element.value.id == "self")
                    ):
                        offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, offenders
