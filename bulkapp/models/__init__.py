"""Database models. Import from here: ``from bulkapp.models import ImportJob``."""

from .accounts import ADMIN_ROLES, ROLES, Organisation, User, role_rank, utcnow
from .api_token import ApiToken
from .audit import AuditEntry
from .bulk_fix_run import ACTIVE_BULK_FIX, BulkFixRun, BulkFixStatus
from .entity_tables import ENTITY_TABLES
from .import_job import (
    ANALYSIS,
    CANCELED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    IMPORT,
    MODES,
    NEEDS_REVIEW,
    PROCESSING,
    QUEUED,
    STATUSES,
    UNDO,
    IllegalTransition,
    ImportJob,
    ImportPhase,
    ImportStage,
    ImportStatus,
    ReviewPolicy,
    new_job_id,
    on_ended,
    rows_matched,
)
from .metrics import QueueHour
from .outgoing_mail import OutgoingMail
from .record_change import RecordChange
from .record_export import ExportStatus, RecordExport
from .rejected_row import FixState, RejectedRow, RejectedRowProblem
from .saved_mapping import SavedMapping
from .stored_file import StoredFile, StoredFileChunk, new_file_id

# The largest id the database's integer keys hold.
_MAX_ID = 2**31 - 1


def is_storable_id(value: int) -> bool:
    """Whether ``value`` can be a row's id: one outside the database's integers (from a URL)
    names nothing, and must not reach a query that PostgreSQL would refuse."""
    return 0 < value <= _MAX_ID


__all__ = [
    "ACTIVE_BULK_FIX",
    "BulkFixRun",
    "BulkFixStatus",
    "is_storable_id",
    "ADMIN_ROLES",
    "ROLES",
    "Organisation",
    "User",
    "utcnow",
    "role_rank",
    "AuditEntry",
    "ENTITY_TABLES",
    "ImportJob",
    "new_job_id",
    "CANCELED",
    "COMPLETED",
    "UNDO",
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
    "ANALYSIS",
    "IMPORT",
    "NEEDS_REVIEW",
    "ImportPhase",
    "ReviewPolicy",
    "SavedMapping",
    "StoredFile",
    "StoredFileChunk",
    "new_file_id",
    "QueueHour",
    "ExportStatus",
    "RecordExport",
    "OutgoingMail",
    "RecordChange",
    "FixState",
    "RejectedRow",
    "RejectedRowProblem",
]
