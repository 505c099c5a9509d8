"""The import pipeline: plain Python, importable without the web app.

Entry points live in ``bulkapp.ingest.service``: ``start_import`` (store + record + enqueue)
and ``run_import`` (what a worker or the CLI runs).
"""
