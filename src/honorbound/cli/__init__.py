"""The `honorbound` command line: one sub-module per area, registered here explicitly."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="honorbound",
    help="Honorbound: your privacy notice, enforced.",
    no_args_is_help=True,
    add_completion=False,
)

# --- registrations (one line per area; keep sorted) ---------------------------------------
# --- end registrations ---------------------------------------------------------------------


def main() -> None:
    app()
