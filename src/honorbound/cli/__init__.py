"""The `honorbound` command line: one sub-module per area, registered here explicitly."""

from __future__ import annotations

import typer

from honorbound.cli import audit as _audit_cli
from honorbound.cli import consent as _consent_cli
from honorbound.cli import core as _core_cli
from honorbound.cli import detect as _detect_cli
from honorbound.cli import disclosures as _disclosures_cli
from honorbound.cli import policy as _policy_cli
from honorbound.cli import retention as _retention_cli
from honorbound.cli import rights as _rights_cli
from honorbound.cli import vault as _vault_cli

app = typer.Typer(
    name="honorbound",
    help="Honorbound: your privacy notice, enforced.",
    no_args_is_help=True,
    add_completion=False,
)

# --- registrations (one line per area; keep sorted) ---------------------------------------
app.add_typer(_audit_cli.app, name="audit")
_consent_cli.register(app)
_core_cli.register(app)
_detect_cli.register(app)
app.add_typer(_policy_cli.app, name="policy")
app.add_typer(_rights_cli.report, name="report")
app.add_typer(_retention_cli.app, name="retention")
_disclosures_cli.register(app, _rights_cli.report)
app.add_typer(_vault_cli.app, name="keys")
# --- end registrations ---------------------------------------------------------------------


def main() -> None:
    app()
