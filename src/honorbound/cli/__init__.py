"""The `honorbound` command line: one sub-module per area, registered here explicitly."""

from __future__ import annotations

import sys
from functools import cache

import typer

STREAMING = frozenset({"scan", "redact"})


@cache
def build_app() -> typer.Typer:
    """The whole command line. Areas are imported here, not at package import, so commands
    that stream large inputs (`scan`, `redact`) start with only the detection engine loaded."""
    from honorbound.cli import audit as _audit_cli
    from honorbound.cli import backup as _backup_cli
    from honorbound.cli import breach as _breach_cli
    from honorbound.cli import clients as _clients_cli
    from honorbound.cli import consent as _consent_cli
    from honorbound.cli import core as _core_cli
    from honorbound.cli import detect as _detect_cli
    from honorbound.cli import disclosures as _disclosures_cli
    from honorbound.cli import ingest as _ingest_cli
    from honorbound.cli import policy as _policy_cli
    from honorbound.cli import recordings as _recordings_cli
    from honorbound.cli import retention as _retention_cli
    from honorbound.cli import rights as _rights_cli
    from honorbound.cli import systems as _systems_cli
    from honorbound.cli import vault as _vault_cli

    app = typer.Typer(
        name="honorbound",
        help="Honorbound: your privacy notice, enforced.",
        no_args_is_help=True,
        add_completion=False,
    )

    # --- registrations (one line per area; keep sorted) ---------------------------------------
    app.add_typer(_audit_cli.app, name="audit")
    _backup_cli.register(app)
    app.add_typer(_breach_cli.app, name="breach")
    _clients_cli.register(app)
    _consent_cli.register(app)
    _core_cli.register(app)
    _detect_cli.register(app)
    _ingest_cli.register(app)
    app.add_typer(_policy_cli.app, name="policy")
    _recordings_cli.register(app)
    app.add_typer(_rights_cli.report, name="report")
    app.add_typer(_retention_cli.app, name="retention")
    app.add_typer(_systems_cli.app, name="systems")
    _disclosures_cli.register(app, _rights_cli.report)
    app.add_typer(_vault_cli.app, name="keys")
    # --- end registrations ---------------------------------------------------------------------
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return build_app()
    raise AttributeError(name)


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in STREAMING:
        from honorbound.cli import detect as detect_cli

        slim = typer.Typer(name="honorbound", add_completion=False)
        detect_cli.register(slim)
        slim()
        return
    build_app()()
