"""Every table of the application, imported in one place for migrations and tests.

Each domain package owns its tables; this list is the one place that names them all.
"""

from honorbound.accounts.models import ApiKey, Membership, Organization, User
from honorbound.accounts.sessions import StaffSession
from honorbound.accounts.team import StaffInvite
from honorbound.accounts.twofactor import RecoveryCode
from honorbound.audit.models import AuditCheckpoint, AuditEntry
from honorbound.bpo.clients import ClientOffboarding
from honorbound.bpo.sms_numbers import SharedNumber, SharedNumberClient, SharedSend
from honorbound.breach.models import AffectedPerson, ExternalContact, Incident, Notice
from honorbound.consent.models import (
    CallAttempt,
    CompanyDnc,
    ConsentEvent,
    NationalDncImport,
    NationalDncNumber,
    SmsInbound,
)
from honorbound.consent.overrides import ContactOverride
from honorbound.db.base import Base
from honorbound.disclosures.models import Disclosure, DisclosureSubject
from honorbound.disclosures.subprocessors import Subprocessor
from honorbound.intents.models import ConversationIntent
from honorbound.jobs.models import Job
from honorbound.notify.models import OutboxMessage
from honorbound.policy.client_rules import ClientRulesOverride
from honorbound.policy.models import PolicyVersion
from honorbound.ratelimit import RateLimitHit
from honorbound.retention.models import (
    DisposalEntry,
    LegalHold,
    RetentionRun,
    RetentionWithdrawal,
)
from honorbound.rights.models import RequestEvent, RequestToken, RightsRequest, TokenAttempt
from honorbound.rights.protocols.models import (
    ControllerContract,
    DrpAgent,
    DrpRequest,
    DrpToken,
    OpenDsrRequest,
    ProcessorForward,
    SeenMessage,
)
from honorbound.systems.models import (
    ConnectedSystem,
    DriftScan,
    ManualTask,
    RequestIdentities,
    SystemDisposal,
    SystemExecution,
    SystemSweep,
)
from honorbound.vault.models import (
    AccessLogEntry,
    IdempotencyKey,
    Identity,
    Interaction,
    Record,
    Subject,
)

metadata = Base.metadata

# Tables whose rows an audit entry names: their ids are never handed out twice, also after the
# rows are deleted (SQLite AUTOINCREMENT; PostgreSQL identity columns never reuse). Migration
# 0022 rebuilt the existing SQLite tables this way.
NEVER_REUSED_IDS = (
    "organizations",
    "users",
    "api_keys",
    "policy_versions",
    "vault_subjects",
    "vault_identities",
    "vault_records",
    "vault_interactions",
    "vault_access_log",
    "consent_events",
    "consent_company_dnc",
    "consent_national_dnc_imports",
    "consent_call_attempts",
    "disclosures",
    "retention_holds",
    "retention_runs",
    "rights_requests",
    "outbox",
    "jobs",
    "systems",
    "system_sweeps",
    "system_disposals",
    "breach_incidents",
    "breach_notices",
    "conversation_intents",
)
for _name in NEVER_REUSED_IDS:
    metadata.tables[_name].dialect_kwargs["sqlite_autoincrement"] = True

__all__ = [
    "ControllerContract",
    "DrpAgent",
    "DrpRequest",
    "DrpToken",
    "OpenDsrRequest",
    "ProcessorForward",
    "SeenMessage",
    "ClientOffboarding",
    "ContactOverride",
    "ClientRulesOverride",
    "SharedNumber",
    "SharedNumberClient",
    "SharedSend",
    "Subprocessor",
    "ConversationIntent",
    "AffectedPerson",
    "ExternalContact",
    "Incident",
    "Notice",
    "AuditCheckpoint",
    "ConnectedSystem",
    "DriftScan",
    "ManualTask",
    "RequestIdentities",
    "SystemDisposal",
    "SystemExecution",
    "SystemSweep",
    "RateLimitHit",
    "RecoveryCode",
    "StaffInvite",
    "StaffSession",
    "RequestEvent",
    "RequestToken",
    "TokenAttempt",
    "RightsRequest",
    "Disclosure",
    "DisclosureSubject",
    "DisposalEntry",
    "LegalHold",
    "RetentionRun",
    "RetentionWithdrawal",
    "AccessLogEntry",
    "IdempotencyKey",
    "Identity",
    "Interaction",
    "Record",
    "Subject",
    "ApiKey",
    "AuditEntry",
    "CallAttempt",
    "CompanyDnc",
    "ConsentEvent",
    "NationalDncImport",
    "NationalDncNumber",
    "SmsInbound",
    "Base",
    "Job",
    "Membership",
    "Organization",
    "OutboxMessage",
    "PolicyVersion",
    "User",
    "NEVER_REUSED_IDS",
    "metadata",
]
