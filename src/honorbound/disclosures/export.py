"""The export writer: a file holding only the subjects and categories the guard allows, and the
ledger entry that records it.

The file is JSON Lines, one subject per line: `{"subject": 12, "records": [{"category": ...,
"value": ..., "collected_at": ...}]}`. Emails and phone numbers held as identities count as
`user.contact.email` / `user.contact.phone`. It is written to a temporary file next to the
target and renamed into place only after the ledger entry is written, so a refused or failed
export leaves no file and no entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.disclosures.guard import (
    IDENTITY_CATEGORIES,
    DisclosureCheck,
    check_disclosure,
    covers,
)
from honorbound.disclosures.ledger import DisclosureInputError, record_disclosure
from honorbound.disclosures.models import Basis
from honorbound.errors import HonorboundError
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.store import AdoptedPolicy
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity, Record, Subject, SubjectStatus
from honorbound.vault.sealing import open_text


class DisclosureRefused(HonorboundError):
    """The guard allows nothing of this export; `check.reasons` says why. Nothing was written."""

    status = 422
    title = "Export refused"

    def __init__(self, check: DisclosureCheck) -> None:
        reasons = "; ".join(sorted({r.message for r in check.reasons}))
        super().__init__(reasons or "no subject holds data of those categories")
        self.check = check

    def errors(self) -> list[dict[str, str]]:
        at_fault = [{"field": "body.recipient", "message": r.message} for r in self.check.reasons]
        return at_fault or [{"field": "body.categories", "message": str(self)}]

    def extra(self) -> dict[str, Any]:
        # Each reason as the guard's check answers it (POST /v1/disclosures/check).
        return {
            "reasons": [
                {
                    "code": r.code.value,
                    "message": r.message,
                    "subject_id": r.subject_id,
                    "category": r.category,
                    "record_id": r.record_id,
                }
                for r in self.check.reasons
            ]
        }


@dataclass(frozen=True)
class ExportResult:
    path: Path
    disclosure_id: int | None
    subjects: int
    records: int
    sha256: str
    check: DisclosureCheck


def _like(keys: Sequence[str]) -> ColumnElement[bool]:
    """Records of these categories or below them."""
    return or_(*(or_(Record.category == k, Record.category.like(k + ".%")) for k in keys))


def export(
    session: Session,
    keys: KeyStore,
    rules: JurisdictionRules,
    organization_id: int,
    policy: AdoptedPolicy,
    *,
    recipient: str,
    categories: Sequence[str],
    purpose: str,
    out: Path,
    actor: Actor,
    basis: Basis | None = None,
    legal_reference: str | None = None,
    subject_ids: Sequence[int] | None = None,
) -> ExportResult:
    """Check, write the file, record the disclosure. `subject_ids=None` means every subject
    holding data of the categories. Raises DisclosureRefused when nothing may go. Values the
    guard excludes (collected under a notice that did not allow this) are left out."""
    declaration = policy.declaration
    if not categories:
        raise DisclosureInputError("categories", "name at least one category")
    if out.exists() and out.is_dir():
        raise DisclosureInputError("out", f"{out} is a directory; name a file")
    if not out.parent.is_dir():
        raise DisclosureInputError("out", f"directory {out.parent} does not exist")
    if subject_ids is None:
        subject_ids = list(
            session.scalars(
                select(Record.subject_id)
                .where(Record.organization_id == organization_id, _like(categories))
                .distinct()
                .order_by(Record.subject_id)
            )
        )
    check = check_disclosure(
        session,
        keys,
        rules,
        organization_id,
        policy,
        subject_ids,
        recipient,
        categories,
        purpose,
        basis,
    )
    if check.blocked or check.recipient is None or check.basis is None or not check.allowed:
        raise DisclosureRefused(check)
    tmp = out.with_name(f".{out.name}.partial")
    digest = hashlib.sha256()
    shared: dict[int, list[str]] = {}
    count = 0
    subjects = {
        s.id: s
        for s in session.scalars(
            select(Subject).where(
                Subject.organization_id == organization_id,
                Subject.id.in_(list(check.allowed)),
                Subject.status != SubjectStatus.ERASED.value,
            )
        )
    }
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            for subject_id in sorted(check.allowed):
                subject = subjects.get(subject_id)
                if subject is None:
                    continue
                allowed = check.allowed[subject_id]
                dek = keys.data_key(organization_id, subject.key_id)
                lines: list[dict[str, str]] = []
                for identity in session.scalars(
                    select(Identity).where(Identity.subject_id == subject_id).order_by(Identity.id)
                ):
                    key = IDENTITY_CATEGORIES.get(identity.kind)
                    if (
                        key
                        and f"identity:{identity.id}" not in check.excluded
                        and any(covers(declaration, w, key) for w in allowed)
                    ):
                        value = open_text(
                            dek,
                            organization_id,
                            subject.key_id,
                            f"identity:{identity.kind}",
                            identity.value_sealed,
                        )
                        lines.append(
                            {
                                "category": key,
                                "value": value,
                                "collected_at": identity.created_at.isoformat(),
                            }
                        )
                for record in session.scalars(
                    select(Record)
                    .where(
                        Record.organization_id == organization_id, Record.subject_id == subject_id
                    )
                    .order_by(Record.id)
                ):
                    if f"record:{record.id}" in check.excluded or not any(
                        covers(declaration, w, record.category) for w in allowed
                    ):
                        continue
                    value = open_text(
                        dek,
                        organization_id,
                        subject.key_id,
                        f"record:{record.category}",
                        record.value_sealed,
                    )
                    lines.append(
                        {
                            "category": record.category,
                            "value": value,
                            "collected_at": record.collected_at.isoformat(),
                        }
                    )
                if not lines:
                    continue
                line = (
                    json.dumps({"subject": subject_id, "records": lines}, ensure_ascii=False) + "\n"
                )
                handle.write(line)
                digest.update(line.encode())
                shared[subject_id] = sorted({item["category"] for item in lines})
                count += len(lines)
        entry_id: int | None = None
        if shared:
            entry = record_disclosure(
                session,
                organization_id,
                actor,
                recipient=check.recipient,
                categories=sorted({c for cats in shared.values() for c in cats}),
                purpose=purpose,
                basis=check.basis,
                subjects=shared,
                legal_reference=legal_reference,
                channel="export",
                policy_version_id=policy.version_id,
                file_sha256=digest.hexdigest(),
            )
            entry_id = entry.id
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(out, entry_id, len(shared), count, digest.hexdigest(), check)
