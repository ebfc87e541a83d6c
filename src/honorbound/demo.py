"""Demo data: a BPO, the client it serves, staff in every role. All of it synthetic.

Each domain issue extends `load_demo` with its own part (declaration, subjects, consent ...).
"""

from __future__ import annotations

from honorbound.accounts.passwords import generate_password
from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_organization, create_user, issue_api_key
from honorbound.audit import Actor
from honorbound.runtime import Runtime

DEMO_ORG = "demo"
STAFF = (
    ("admin", Role.ADMIN, "Demo Administrator"),
    ("officer", Role.PRIVACY_OFFICER, "Demo Privacy Officer"),
    ("agent", Role.AGENT, "Demo Agent"),
    ("auditor", Role.AUDITOR, "Demo Auditor"),
)


def load_demo(rt: Runtime, quiet: bool = False) -> str:
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
    return "\n".join(lines) + "\n"
