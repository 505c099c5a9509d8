"""Gunicorn settings read from the folder it starts in (Procfile, Procfile.dev, the tests).

Gunicorn refuses a request line over ``limit_request_line`` with its own HTML page; at its
largest the app sees every address up to that length and answers one over 4,096 characters
itself (bulkapp/web/guard.py): a JSON 414 on the API, a page elsewhere.
"""

limit_request_line = 8190
