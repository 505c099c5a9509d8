"""The prefetcher runs the reading side of an import in a forked child process."""

import os

import pytest

from bulkapp.ingest.errors import ImportFailed
from bulkapp.ingest.prefetch import Prefetcher


def test_items_arrive_in_order_from_another_process():
    def source():
        for number in range(5):
            yield os.getpid(), number

    with Prefetcher(source()) as items:
        received = list(items)
    assert [number for _, number in received] == [0, 1, 2, 3, 4]
    assert {pid for pid, _ in received} != {os.getpid()}


def test_an_error_in_the_source_is_raised_here_with_the_childs_traceback():
    def source():
        yield 1
        raise ImportFailed("Row 3 cannot be read.")

    with Prefetcher(source()) as items:
        assert next(items) == 1
        with pytest.raises(ImportFailed, match="Row 3 cannot be read.") as raised:
            next(items)
    assert "In the reading process" in raised.value.__notes__[0]
    assert "raise ImportFailed" in raised.value.__notes__[0]


def test_an_error_that_cannot_be_pickled_arrives_as_a_runtime_error():
    class LocalError(Exception):
        pass

    def source():
        raise LocalError("boom")
        yield

    with Prefetcher(source()) as items, pytest.raises(RuntimeError, match="LocalError: boom"):
        next(items)


def test_closing_early_stops_the_child():
    def source():
        while True:
            yield os.getpid()

    items = Prefetcher(source())
    child = next(items)
    items.close()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_a_child_that_dies_is_reported_rather_than_taken_for_the_end():
    def source():
        yield 1
        os._exit(3)

    with Prefetcher(source()) as items:
        assert next(items) == 1
        with pytest.raises(RuntimeError, match="ended unexpectedly .exit status 3"):
            next(items)
