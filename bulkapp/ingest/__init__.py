"""The import pipeline, plain Python: it imports neither Flask nor RQ nor the web.

``pipeline.import_file`` reads a stored upload (``readers``), maps its headers
(``mapping``), validates its rows (``validate``, ``normalise``) and upserts the good ones
(``persist``) chunk by chunk, writing the rejected ones to the error report (``report``).
The job system (``bulkapp.jobs.imports``) starts it and records its progress.
"""
