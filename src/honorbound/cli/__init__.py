"""The `honorbound` command line: one sub-module per area, registered here explicitly."""

from __future__ import annotations

import typer

from honorbound.cli import audit as _audit_cli
from honorbound.cli import core as _core_cli

app = typer.Typer(
    name="honorbound",
    help="Honorbound: your privacy notice, enforced.",
    no_args_is_help=True,
    add_completion=False,
)

# --- registrations (one line per area; keep sorted) ---------------------------------------
app.add_typer(_audit_cli.app, name="audit")
_core_cli.register(app)
# --- end registrations ---------------------------------------------------------------------


def main() -> None:
    app()
