"""`honorbound systems check|connect|list|export|disconnect|scan|sweep|tasks|task-done|retry`:
the systems where personal data lives outside the vault (docs/systems.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from honorbound.cli.common import err, fail, out, runtime
from honorbound.cli.retention import CLI_ACTOR, Org, organization_id
from honorbound.rights import work
from honorbound.rights.jobs import services
from honorbound.systems import registry, tasks
from honorbound.systems.check import check_text, errors
from honorbound.systems.errors import MapError, SystemsError
from honorbound.systems.jobs import context
from honorbound.systems.maps import dump_maps
from honorbound.systems.scan import propose, public_report, scan
from honorbound.systems.sweep import sweep

app = typer.Typer(
    help="Connected systems: dataset maps, drift scans, retention in the systems.",
    no_args_is_help=True,
)


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    if len(data) > 5 * 1024 * 1024:
        fail(f"{path} is larger than 5 MB; a dataset map is a small YAML file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")


@app.command("check")
def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="Dataset map files (Fides YAML).")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not connect to the systems (shape only).")
    ] = False,
    org: Org = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
) -> None:
    """Exit 0 when every map is valid; else print `FILE:LINE: message` lines and exit 1.
    Live checks (tables, columns, indexes on lookup fields) connect to each system with the
    secrets from the environment; --offline skips them."""
    known = []
    if org is not None:
        rt = runtime()
        try:
            with rt.db.session() as session:
                known = registry.connected(session, organization_id(session, org))
        finally:
            rt.close()
    failed = False
    for path in files:
        problems = check_text(_read(path), str(path), known=known, live=not offline)
        for problem in problems:
            typer.echo(str(problem), err=True)
        if errors(problems) or (strict and problems):
            failed = True
        else:
            warned = f" ({len(problems)} warning(s))" if problems else ""
            typer.echo(f"{path}: ok{warned}")
    if failed:
        raise typer.Exit(1)


@app.command("connect")
def connect_cmd(
    file: Annotated[Path, typer.Argument(help="Dataset map file (Fides YAML).")],
    org: Org = None,
) -> None:
    """Check a map and connect its systems to the organization (replacing same keys)."""
    text = _read(file)
    rt = runtime()
    try:
        with rt.db.read_session() as session:
            org_id = organization_id(session, org)
            now = registry.connected(session, org_id)
        checked = registry.check_map(text, str(file), now)  # no transaction open while parsing
        with rt.db.session() as session:
            stored = registry.connect(session, org_id, checked, CLI_ACTOR)
            names = [f"{r.key} ({r.type})" for r in stored]
    except MapError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    finally:
        rt.close()
    out.print(f"connected: {', '.join(names)}", highlight=False)


@app.command("list")
def list_cmd(org: Org = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The connected systems."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            rows = registry.rows(session, org_id)
            maps = {m.key: m for m in registry.connected(session, org_id)}
            items: list[dict[str, Any]] = [
                {
                    "key": r.key,
                    "name": r.name,
                    "type": r.type,
                    "collections": len(maps[r.key].collections) if r.key in maps else 0,
                    "map_sha256": r.map_sha256,
                    "added_at": r.added_at.isoformat(),
                }
                for r in rows
            ]
    finally:
        rt.close()
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    table = Table("key", "name", "type", "collections", "added (UTC)")
    for i in items:
        table.add_row(i["key"], i["name"], i["type"], str(i["collections"]), i["added_at"][:16])
    out.print(table)


@app.command("export")
def export_cmd(
    org: Org = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write here.")] = None,
) -> None:
    """Write the connected maps as one Fides dataset YAML file."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            text = dump_maps(registry.connected(session, organization_id(session, org)))
    finally:
        rt.close()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}", highlight=False)


@app.command("disconnect")
def disconnect_cmd(key: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Remove the connected system KEY from the organization (recorded in the audit log)."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            registry.disconnect(session, organization_id(session, org), key, CLI_ACTOR)
    except MapError as exc:
        fail(str(exc))
    finally:
        rt.close()
    out.print(f"disconnected {key}", highlight=False)


@app.command("scan")
def scan_cmd(
    org: Org = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    rows: Annotated[int, typer.Option(min=1, max=10_000, help="Rows sampled per table.")] = 200,
    max_bytes: Annotated[
        int, typer.Option("--bytes", min=1024, max=64 * 1024 * 1024, help="Bytes per file.")
    ] = 1024 * 1024,
    propose_to: Annotated[
        Path | None, typer.Option("--propose", help="Write a proposed dataset map here.")
    ] = None,
) -> None:
    """Sample every connected system; report what the map and the notice do not declare."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            report = public_report(
                scan(session, context(rt), org_id, sample_rows=rows, sample_bytes=max_bytes)
            )
            maps = registry.connected(session, org_id)
    except SystemsError as exc:
        fail(str(exc))
    finally:
        rt.close()
    if propose_to is not None:
        propose_to.write_text(propose(report, maps), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    _print_report(report)
    if propose_to is not None:
        out.print(f"proposed map written to {propose_to} (review it, then `systems check`)")


def _print_report(report: dict[str, object]) -> None:
    sections = (
        ("undeclared_fields", "Personal data the maps do not declare"),
        ("categories_not_in_notice", "Categories the notice does not declare"),
        ("older_than_retention", "Data older than its retention rule"),
        ("identities_reaching_nothing", "Identities that reach nothing"),
        ("errors", "Systems that could not be scanned"),
    )
    for key, title in sections:
        items = report.get(key) or []
        assert isinstance(items, list)
        out.print(f"[bold]{title}[/]: {len(items)}")
        for item in items:
            out.print("  " + json.dumps(item, default=str), highlight=False)


@app.command("sweep")
def sweep_cmd(
    org: Org = None,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Rows per batch.")] = 5_000,
) -> None:
    """Apply the notice's retention rules in the connected systems (resumes an interrupted run)."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
        result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org_id, CLI_ACTOR, batch=batch)
    except SystemsError as exc:
        fail(str(exc))
    finally:
        rt.close()
    out.print(
        f"sweep {result.sweep_id}{' (resumed)' if result.resumed else ''}: "
        f"{result.batches} batch(es), {result.rows} row(s)",
        highlight=False,
    )
    for key, reason in result.held_back.items():
        out.print(f"held back {key}: {reason}", highlight=False)
    for n in result.not_enforced:
        out.print(f"not enforced {n.system}.{n.collection}.{n.field}: {n.reason}", highlight=False)
    for system, error in result.failed.items():
        err.print(f"[bold red]failed[/] {system}: {error}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


@app.command("tasks")
def tasks_cmd(org: Org = None) -> None:
    """Open tasks for manual systems."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            rows = tasks.list_tasks(session, organization_id(session, org))
            table = Table("#", "system", "action", "owner", "due (UTC)", "request")
            for t in rows:
                table.add_row(
                    str(t.id),
                    t.system_key,
                    t.action,
                    t.owner,
                    t.due_at.strftime("%Y-%m-%d"),
                    str(t.request_id),
                )
    finally:
        rt.close()
    out.print(table)


@app.command("task-done")
def task_done_cmd(
    task_id: Annotated[int, typer.Argument(min=1)],
    evidence: Annotated[Path, typer.Option("--evidence", help="The evidence file.")],
    note: Annotated[str, typer.Option(help="What was done.")] = "",
    org: Org = None,
) -> None:
    """Mark a manual task done with its evidence (the request goes on)."""
    try:
        data = evidence.read_bytes()
    except OSError as exc:
        fail(f"cannot read {evidence}: {exc.strerror}")
    rt = runtime(immediate_jobs=True)
    try:
        with rt.db.session() as session:
            task = work.complete_system_task(
                session,
                services(rt),
                organization_id(session, org),
                task_id,
                CLI_ACTOR,
                evidence.name,
                data,
                note,
            )
            digest = task.evidence_sha256
    except SystemsError as exc:
        fail(str(exc))
    finally:
        rt.close()
    out.print(f"task {task_id} done (evidence sha256 {digest})", highlight=False)


@app.command("retry")
def retry_cmd(request_id: Annotated[int, typer.Argument(min=1)], org: Org = None) -> None:
    """Carry a partly done request out again now."""
    rt = runtime(immediate_jobs=True)
    try:
        with rt.db.session() as session:
            request = work.retry_request(
                session, services(rt), organization_id(session, org), request_id
            )
            ref = request.reference
        with rt.db.session() as session:
            from honorbound.rights.models import RightsRequest

            row = session.get(RightsRequest, request_id)
            status = row.status if row else "?"
    except SystemsError as exc:
        fail(str(exc))
    finally:
        rt.close()
    out.print(f"request {ref}: {status}", highlight=False)
