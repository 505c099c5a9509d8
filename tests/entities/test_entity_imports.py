"""Every entity type imports its own template example, and re-importing it changes nothing."""

import csv
import io

import pytest

from bulkapp.entities import REGISTRY
from bulkapp.jobs.attempts import run_import
from tests.ingest.conftest import create_job


def example_file(schema) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f.label for f in schema.fields])
    writer.writerow([f.example for f in schema.fields])
    return out.getvalue()


@pytest.mark.parametrize("entity", sorted(REGISTRY))
def test_the_template_example_imports_and_re_imports_unchanged(ctx, user_a, entity):
    schema = REGISTRY[entity]
    first = create_job(user_a, example_file(schema), entity=entity)
    run_import(first.id)
    assert first.status == "completed", first.error_message
    assert first.database_stats["inserted"] == 1 and first.invalid_rows == 0
    again = create_job(user_a, example_file(schema), entity=entity)
    run_import(again.id)
    assert again.database_stats == {"inserted": 0, "updated": 0, "unchanged": 1, "failed": 0}
