"""Database models. Import from here: ``from bulkapp.models import ImportJob``."""

from .accounts import ADMIN_ROLES, ROLES, Organisation, User, utcnow
from .api_token import ApiToken
from .entity_tables import ENTITY_TABLES
from .import_job import (
    CANCELED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    MODES,
    PROCESSING,
    QUEUED,
    STATUSES,
    IllegalTransition,
    ImportJob,
    ImportStage,
    ImportStatus,
    new_job_id,
    on_ended,
    rows_matched,
)
from .metrics import QueueHour

__all__ = [
    "ADMIN_ROLES",
    "ROLES",
    "Organisation",
    "User",
    "utcnow",
    "ENTITY_TABLES",
    "ImportJob",
    "new_job_id",
    "CANCELED",
    "COMPLETED",
    "FAILED",
    "FINISHED_STATUSES",
    "MODES",
    "PROCESSING",
    "QUEUED",
    "STATUSES",
    "ApiToken",
    "IllegalTransition",
    "ImportStage",
    "ImportStatus",
    "on_ended",
    "rows_matched",
    "QueueHour",
]
