"""Per-organization change counters, bumped by database triggers in the writing transaction.

Three numbers per organization, each read with one primary-key lookup:

* `keys_version`: changes whenever one of its API keys is updated or deleted (a revocation). A
  process that caches authenticated keys compares it on every request and re-reads the key
  when it moved, so a revoked key is refused on the next request, whichever process revoked it.
* `decisions_version`: changes whenever a write lands that the contact-decision snapshot reads
  (consent events, company DNC, national DNC imports, call attempts, vault subjects and
  identities, adopted policy versions). Unchanged: the snapshot is current, no other query.
* `requests_version`: changes whenever a rights request is written (opened, moved, closed,
  deleted). The cross-client desk keeps each organization's open-request counts by it
  (`bpo.desk.RequestCounts`) and re-reads only the organizations whose number moved.

Triggers (migrations 0027 and 0040), not application code, bump them: every writer is
covered, bulk SQL and other processes included, and the bump commits or rolls back with the
write itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.db.base import Base


class OrganizationChanges(Base):
    __tablename__ = "organization_changes"

    organization_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    keys_version: Mapped[int] = mapped_column(BigInteger, default=0)
    decisions_version: Mapped[int] = mapped_column(BigInteger, default=0)
    requests_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


# Tables whose writes move `decisions_version`, with the operations that matter to the
# snapshot's refresh (`DecisionEngine._refresh` reads new rows by id, and subjects whose
# last_activity_at moved).
DECISION_TABLES = (
    ("consent_events", ("INSERT", "UPDATE", "DELETE")),
    ("consent_company_dnc", ("INSERT", "UPDATE", "DELETE")),
    ("consent_national_dnc_imports", ("INSERT", "UPDATE", "DELETE")),
    ("consent_call_attempts", ("INSERT", "DELETE")),
    ("vault_identities", ("INSERT", "DELETE")),
    ("vault_subjects", ("INSERT", "UPDATE", "DELETE")),
    ("policy_versions", ("INSERT", "DELETE")),
)
KEY_TABLES = (("api_keys", ("UPDATE", "DELETE")),)
REQUEST_TABLES = (("rights_requests", ("INSERT", "UPDATE", "DELETE")),)


def versions(session: Session, organization_id: int) -> tuple[int, int]:
    """(keys_version, decisions_version) of the organization; (0, 0) before its first write."""
    row = session.execute(
        select(OrganizationChanges.keys_version, OrganizationChanges.decisions_version).where(
            OrganizationChanges.organization_id == organization_id
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def request_versions(session: Session, organization_ids: Iterable[int]) -> dict[int, int]:
    """`requests_version` of each organization; 0 for one never written since migration 0040."""
    ids = list(organization_ids)
    found = dict.fromkeys(ids, 0)
    for org_id, version in session.execute(
        select(OrganizationChanges.organization_id, OrganizationChanges.requests_version).where(
            OrganizationChanges.organization_id.in_(ids)
        )
    ):
        found[int(org_id)] = int(version)
    return found
