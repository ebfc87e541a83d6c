"""Roles and what each may do. One table, read by the adapters' permission checks."""

from __future__ import annotations

from enum import StrEnum

from honorbound.i18n import N_


class Role(StrEnum):
    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"
    AGENT = "agent"
    AUDITOR = "auditor"
    CLIENT = "client"  # a controller's system calling in


# The staff roles by name, marked for the catalog: the console shows them in the page's
# language, the staff invitation mail in the invitation's.
ROLE_NAMES: dict[str, str] = {
    "admin": N_("Administrator"),
    "privacy_officer": N_("Privacy officer"),
    "agent": N_("Agent"),
    "auditor": N_("Auditor"),
}


# Permissions are coarse on purpose: each names a family of actions a role may take.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "org.manage": frozenset({Role.ADMIN}),
    "apikeys.manage": frozenset({Role.ADMIN}),
    # A BPO's administrators onboard, staff, disable and offboard its client organizations.
    "clients.manage": frozenset({Role.ADMIN}),
    # The cross-client desk (counts and request references across organizations, no values).
    "desk.read": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.AUDITOR}),
    "audit.read": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AUDITOR}),
    "outbox.read": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AUDITOR}),
    # Reading one message in clear (recipient and body) in the console, logged.
    "outbox.reveal": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "policy.read": frozenset(Role),
    "policy.manage": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "data.collect": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.CLIENT}),
    "data.read_masked": frozenset(
        {Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.CLIENT, Role.AUDITOR}
    ),
    "data.reveal": frozenset({Role.PRIVACY_OFFICER}),
    "data.merge": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "consent.write": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.CLIENT}),
    # Recording an opt-out a person sent by email, said on a call or wrote in a letter: staff
    # who received it, not a connected system's key.
    "consent.record_received": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT}),
    # Replacing or deleting from the national do-not-call list can make numbers callable.
    "dnc.replace": frozenset({Role.ADMIN}),
    "consent.read": frozenset(
        {Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.CLIENT, Role.AUDITOR}
    ),
    "rights.intake": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.CLIENT}),
    "rights.manage": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "rights.read": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AGENT, Role.AUDITOR}),
    "retention.manage": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "disclosures.manage": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "breach.manage": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    "reports.read": frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AUDITOR}),
}


def allowed(role: Role, permission: str) -> bool:
    try:
        return role in PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}") from None
