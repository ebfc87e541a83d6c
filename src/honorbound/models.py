"""Every table of the application, imported in one place for migrations and tests.

Each domain package owns its tables; this list is the one place that names them all.
"""

from honorbound.accounts.models import ApiKey, Membership, Organization, User
from honorbound.audit.models import AuditEntry
from honorbound.db.base import Base
from honorbound.jobs.models import Job
from honorbound.notify.models import OutboxMessage
from honorbound.policy.models import PolicyVersion

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "Job",
    "Membership",
    "Organization",
    "OutboxMessage",
    "PolicyVersion",
    "User",
    "metadata",
]
