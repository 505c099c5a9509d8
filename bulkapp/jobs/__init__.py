"""The job system: queues, RQ entry points, workers and their supervisor, the cron schedule,
maintenance, notifications, monitoring, and the use cases the web and the CLI call (start,
cancel, retry, requeue and clean imports).

RQ stores the dotted name of a job's function in Redis (``bulkapp.jobs.import_job``), so
the entry points stay importable from here across releases; they live in ``tasks``.
"""

from .tasks import (
    bulk_fix_failed,
    bulk_fix_job,
    clean_up,
    export_failed,
    export_records,
    horse_killed,
    import_failed,
    import_job,
    import_succeeded,
    post_job_webhook,
    recover,
    send_job_email,
    send_mail,
    trim,
)

__all__ = [
    "bulk_fix_failed",
    "bulk_fix_job",
    "clean_up",
    "export_failed",
    "export_records",
    "horse_killed",
    "import_failed",
    "import_job",
    "import_succeeded",
    "post_job_webhook",
    "recover",
    "send_job_email",
    "send_mail",
    "trim",
]
