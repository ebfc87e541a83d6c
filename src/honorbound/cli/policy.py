"""`honorbound policy check|render|diff|adopt|versions|rules`: the privacy notice as code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import select

from honorbound import i18n
from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.cli.common import fail, out, runtime, settings
from honorbound.consent.rules import ContactRules
from honorbound.policy import store
from honorbound.policy.applicability import Report, report
from honorbound.policy.check import check_file, errors
from honorbound.policy.diff import diff
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.loader import parse_declaration
from honorbound.policy.problems import DeclarationError
from honorbound.policy.render import FORMATS, render
from honorbound.policy.rulesdoc import markdown as rules_markdown
from honorbound.policy.schema import Declaration
from honorbound.runtime import read_contact_rules, read_rules

app = typer.Typer(
    help="The privacy notice as code: check, render, compare and adopt declarations.",
    no_args_is_help=True,
)

RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Your jurisdiction rules file, merged over the shipped rules "
        "(default: the HONORBOUND_RULES_FILE setting).",
    ),
]


def _rules(path: Path | None) -> JurisdictionRules:
    """The rules the runtime would use, or those with the named override file."""
    if path is None:
        path = settings().rules_file
    try:
        return read_rules(path)
    except DeclarationError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        fail(f"cannot read rules file {path}: {exc.strerror}")


def _contact_rules(path: Path | None) -> ContactRules:
    """The contact rules the runtime would use, or those with the named override file."""
    if path is None:
        path = settings().rules_file
    try:
        return read_contact_rules(path)
    except DeclarationError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        fail(f"cannot read rules file {path}: {exc.strerror}")
    except ValueError as exc:
        fail(str(exc))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")


def _load(path: Path) -> Declaration:
    """A declaration that passes `check`, or exit 1 listing its errors."""
    _read(path)
    problems = errors(check_file(path))
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1)
    try:
        return parse_declaration(_read(path), str(path))[0]
    except DeclarationError as exc:  # pragma: no cover - check_file reported it already
        fail(str(exc))


@app.command("check")
def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="Declaration files (YAML).")],
    rules: RulesOption = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    on: Annotated[
        dt.datetime | None,
        typer.Option(
            "--on",
            formats=["%Y-%m-%d"],
            help="Check against the laws in force on this date (default: today).",
        ),
    ] = None,
) -> None:
    """Exit 0 when every file is valid; otherwise print `FILE:LINE: message` lines, exit 1.
    For a valid file, also list the state laws and dated obligations that apply to the
    organization from its declared facts, and the rules it relies on that are unconfirmed."""
    loaded = _rules(rules)
    today = on.date() if on else dt.date.today()
    failed = False
    for path in files:
        _read(path)
        problems = check_file(path, loaded, today)
        for problem in problems:
            typer.echo(str(problem), err=True)
        if errors(problems) or (strict and problems):
            failed = True
        else:
            warned = f" ({len(problems)} warning(s))" if problems else ""
            typer.echo(f"{path}: ok{warned}")
            declaration = parse_declaration(_read(path), str(path))[0]
            for line in applicability_lines(report(loaded, declaration, today)):
                typer.echo(f"  {line}")
    if failed:
        raise typer.Exit(1)


def applicability_lines(found: Report) -> list[str]:
    """The applicability report as lines for the terminal."""
    lines = [f"laws on {found.on.isoformat()}, from the declared facts (applicability):"]
    for law in found.applicable():
        when = "" if law.in_force else f" from {law.effective.isoformat()}"
        cure = f"; {law.cure}" if law.cure else ""
        lines.append(
            f"  {law.status.replace('_', ' ')}{when}: {law.state} {law.law}: "
            f"{'; '.join(law.reasons)}{cure}"
        )
    others = [law.state for law in found.laws if law.status == "does_not_apply"]
    if others:
        lines.append(f"  does not apply: {', '.join(others)}")
    lines.append("obligations:")
    for ob in found.obligations:
        due = "; ".join(
            f"{d.what} due {d.due.isoformat()}" + (f" ({d.note})" if d.note else "")
            for d in ob.deadlines
        )
        lines.append(
            f"  {ob.status.replace('_', ' ')}: {ob.state} {ob.title} (from "
            f"{ob.starts.isoformat()}){': ' + due if due else ''}"
            f"{' - ' + '; '.join(ob.reasons) if ob.reasons else ''}"
        )
    if found.unconfirmed:
        lines.append(
            "not confirmed (verify before relying on them): " + "; ".join(found.unconfirmed)
        )
    return lines


@app.command("render")
def render_cmd(
    file: Annotated[Path, typer.Argument(help="Declaration file (YAML).")],
    format: Annotated[str, typer.Option("--format", "-f", help="html or md.")] = "html",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write here.")] = None,
    lang: Annotated[
        str, typer.Option("--lang", "-l", help=f"Language: {', '.join(i18n.LANGUAGES)}.")
    ] = i18n.DEFAULT,
) -> None:
    """Print (or write) the human-readable notice, in English or Spanish (--lang es)."""
    if format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    try:
        lang = i18n.offered(lang, "--lang")
    except i18n.UnsupportedLanguage as exc:
        fail(escape(exc.message))
    text = render(_load(file), format, state_names=_rules(None).state_names, lang=lang)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The declaration in force.")],
    new: Annotated[Path, typer.Argument(help="The proposed declaration.")],
) -> None:
    """List the changes from OLD to NEW, material ones first. Exit 0 either way."""
    changes = diff(_load(old), _load(new))
    if not changes:
        out.print("no changes")
        return
    for change in changes:
        typer.echo(str(change))
    material = sum(c.material for c in changes)
    out.print(f"{len(changes)} change(s), {material} material", highlight=False)


def _org(session: object, slug: str) -> int:
    org_id = session.scalar(select(Organization.id).where(Organization.slug == slug))  # type: ignore[attr-defined]
    if org_id is None:
        fail(f"no organization with slug {slug!r}")
    return int(org_id)


@app.command("adopt")
def adopt_cmd(
    file: Annotated[Path, typer.Argument(help="Declaration file (YAML).")],
    org: Annotated[str, typer.Option("--org", help="Organization slug.")],
) -> None:
    """Adopt FILE as the organization's current notice (an immutable version)."""
    text = _read(file)
    rt = runtime(immediate_jobs=True)
    try:
        # Parsed before the unit of work opens: no parse holds the database.
        prepared = store.prepare(text, str(file), rt.rules)
        for problem in prepared.warnings:
            typer.echo(str(problem), err=True)
        with rt.db.session() as session:
            org_id = _org(session, org)
            adopted, created = store.adopt(
                session, org_id, prepared, Actor("cli", "admin"), jobs=rt.jobs
            )
    except store.AdoptionError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    finally:
        rt.close()
    if not created:
        out.print(f"already adopted as version {adopted.number}; nothing changed")
        return
    out.print(
        f"adopted version {adopted.number} (sha256 {adopted.content_hash[:12]}, effective "
        f"{adopted.effective_date.isoformat()})",
        highlight=False,
    )
    if adopted.material:
        out.print(
            "material change: a notice was queued to the affected people and the privacy contact"
        )
        for change in adopted.changes:
            if change["material"]:
                typer.echo(f"  - {change['message']}")


@app.command("versions")
def versions_cmd(org: Annotated[str, typer.Option("--org", help="Organization slug.")]) -> None:
    """List the organization's adopted versions, oldest first."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            rows = store.versions(session, _org(session, org))
            lines = [
                f"{v.number}\t{v.effective_date.isoformat()}\t{v.adopted_at:%Y-%m-%d %H:%M}\t"
                f"{v.content_hash[:12]}\t{'material' if v.material else '-'}"
                for v in rows
            ]
    finally:
        rt.close()
    if not lines:
        out.print("no version adopted yet")
        return
    typer.echo("version\teffective\tadopted\tsha256\tchange")
    for line in lines:
        typer.echo(line)


@app.command("rules")
def rules_cmd(
    override: Annotated[
        Path | None, typer.Argument(help="Your override file, merged over the shipped rules.")
    ] = None,
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown",
            help="Print every rule as a Markdown table (value, source, confirmed), as in "
            "docs/jurisdiction-rules.md.",
        ),
    ] = False,
) -> None:
    """Validate the jurisdiction rules (and an override file); list unconfirmed rows."""
    loaded = _rules(override)
    contact = _contact_rules(override)
    if markdown:
        typer.echo(rules_markdown(loaded, contact), nl=False)
        return
    today = dt.date.today()
    doubtful = sorted(code for code, row in loaded.states.items() if not row.confirmed)
    later = [
        f"{code} {row.effective.isoformat()}"
        for code, row in sorted(loaded.states.items())
        if not row.in_force(today)
    ]
    rows = loaded.unconfirmed_rows()
    out.print(
        f"rules valid as of {loaded.as_of}: {len(loaded.states)} states"
        + (f" ({len(later)} not yet in force: {', '.join(later)})" if later else "")
        + f"; breach rules for {len(loaded.breach)} jurisdictions; "
        f"unconfirmed: {', '.join(doubtful) or 'none'}"
        + (f" ({len(rows)} unconfirmed rows in all; docs/jurisdiction-rules.md lists them)")
        if rows
        else "",
        highlight=False,
    )
