"""One guard in front of every page and API route: a request whose address, headers, form
fields or JSON body hold a character that no field may hold (NUL, which PostgreSQL text
cannot store, and the other control characters but tab and line breaks; in JSON, half of a
two-part character) is refused with a 400 before any view or query sees it, and an address
longer than ``MAX_URL_LENGTH`` with a 414.

A file's contents are not looked at: its rows are the import's to judge, cell by cell (an
upload's JSON body is such a file, marked by ``body_is_file``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app, request

# Gunicorn's request line may be longer (gunicorn.conf.py), so that the app answers this.
MAX_URL_LENGTH = 4096
_DISALLOWED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DISALLOWED_IN_JSON = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def body_is_file(view: Callable) -> Callable:
    """Mark ``view``: its JSON body is an uploaded file's records, imported (and its cells
    checked) by the pipeline rather than refused whole."""
    view.__dict__["body_is_file"] = True
    return view


def url_too_long() -> bool:
    """Whether the request's address (path and query string) is over ``MAX_URL_LENGTH``."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    length = len(raw) if raw else len(request.path) + len(request.query_string) + 1
    return length > MAX_URL_LENGTH


def disallowed_character() -> str | None:
    """Where the request holds a character no field may hold ("the address", "the header
    X-Name", "the form field name", "the JSON body"), or None when it holds none."""
    for place, text in _texts():
        if _DISALLOWED.search(text):
            return place
    if request.is_json and not _body_is_file():
        for text in _json_texts(_json_body()):
            if _DISALLOWED_IN_JSON.search(text):
                return "the JSON body"
    return None


def _texts() -> Iterator[tuple[str, str]]:
    yield "the address", request.path
    for name, values in request.args.lists():
        yield "the query string", name
        for value in values:
            yield f"the query parameter {_shown(name)}", value
    for name, value in request.headers.items():
        yield f"the header {_shown(name)}", value
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, values in request.form.lists():
            yield "a form field's name", name
            for value in values:
                yield f"the form field {_shown(name)}", value


def _shown(name: str) -> str:
    return _DISALLOWED.sub("", name)


def _body_is_file() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "body_is_file", False)


def _json_body() -> Any:
    """The parsed JSON body, or None when it is no JSON (its view says so)."""
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return None


def _json_texts(value: Any) -> Iterator[str]:
    """Every string in ``value``: keys and values, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from (key for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
