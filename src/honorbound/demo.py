"""Demo data: a BPO, the client it serves, staff in every role. All of it synthetic.

Each domain issue extends `load_demo` with its own part (declaration, subjects, consent ...).
"""

from __future__ import annotations

from pathlib import Path

from honorbound.accounts.passwords import generate_password
from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_organization, create_user, issue_api_key
from honorbound.audit import Actor
from honorbound.demo_subjects import TRY_IT, load_subjects
from honorbound.policy.store import adopt_text
from honorbound.runtime import Runtime
from honorbound.vault.rules import current_rules

DEMO_ORG = "demo"
DEMO_SUBJECTS = 300
DEMO_DECLARATION = (
    Path(__file__).resolve().parents[2] / "examples" / "policies" / "contact-center-1-2024.yaml"
)
STAFF = (
    ("admin", Role.ADMIN, "Demo Administrator"),
    ("officer", Role.PRIVACY_OFFICER, "Demo Privacy Officer"),
    ("agent", Role.AGENT, "Demo Agent"),
    ("auditor", Role.AUDITOR, "Demo Auditor"),
)


def load_demo(rt: Runtime, quiet: bool = False, subjects: int = DEMO_SUBJECTS) -> str:
    """Create the demo installation; returns the login text to show the person running it."""
    actor = Actor("cli:demo", "system")
    lines = ["Demo login (open http://127.0.0.1:8000/login):"]
    with rt.db.session() as session:
        bpo = create_organization(session, "demo-bpo", "Demo BPO (operator)", actor)
        org = create_organization(
            session, DEMO_ORG, "Contact Center 1 (demo client)", actor, operated_by_id=bpo.id
        )
        for username, role, name in STAFF:
            password = generate_password()
            create_user(session, username, password, name, actor, org.id, role)
            lines.append(f"  {role.value:<16} username: {username:<8} password: {password}")
        _, key = issue_api_key(session, org.id, Role.ADMIN, "demo admin key", actor)
        lines.append(f"  admin API key: {key}")
        org_id = org.id
    with rt.db.session() as session:
        adopted, _ = adopt_text(
            session,
            org_id,
            DEMO_DECLARATION.read_text(encoding="utf-8"),
            actor,
            filename=DEMO_DECLARATION.name,
        )
        lines.append(f"  privacy notice: Contact Center 1 example, version {adopted.number}")
    with rt.db.session() as session:
        rules = current_rules(session, org_id, rt.rules)
        assert rules is not None  # adopted just above
        load_subjects(session, rt.vault_keys, org_id, rules, subjects)
        lines.append(f"  {subjects + 1} synthetic subjects (Faker, fixed seed)")
    lines.append(
        "Try the privacy portal (http://127.0.0.1:8000/p/demo) as a demo consumer "
        "(synthetic, like every demo person):"
    )
    lines.append(
        f"  email: {TRY_IT.email}  phone: {TRY_IT.phone}  "
        f"date of birth: {TRY_IT.birth_date.isoformat()}  state: {TRY_IT.jurisdiction}  "
        f"name: {TRY_IT.name}"
    )
    return "\n".join(lines) + "\n"
