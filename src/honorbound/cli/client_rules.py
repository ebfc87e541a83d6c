"""honorbound clients rules: a client's own override of the jurisdiction rules (its counsel's
deadlines, stricter than the installation's), the same domain functions as
/v1/clients/{id}/rules. A bad or looser file prints every problem as FILE:LINE: message and
exits 2 with nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from honorbound.cli.bpo_settings import _run
from honorbound.cli.clients import ACTOR, Bpo, Client, _bpo_id, _client_id
from honorbound.cli.common import fail, out
from honorbound.policy import client_rules

app = typer.Typer(
    help="A client's own jurisdiction rules: deadlines stricter than the installation's."
)


@app.command("show")
def rules_show(bpo: Bpo, client: Client) -> None:
    """The client's override: whether it is in force, and the periods it sets."""

    def work(session: Any, rt: Any) -> None:
        row = client_rules.override_of(session, _client_id(session, _bpo_id(session, bpo), client))
        if row is None:
            out.print(f"{client}: no override; the installation's rules apply.")
            return
        problem = rt.rule_book.in_force(row)
        state = "in force" if problem is None else f"NOT in force ({problem})"
        out.print(f"{client}: {row.name}, sha256 {row.sha256[:12]}, {state}", highlight=False)
        rules = rt.rule_book.installation if problem else rt.rule_book.built(row)
        paths = client_rules.paths_of(rt.rule_book, row.source_text)
        for path, words in client_rules.periods(rules, paths).items():
            typer.echo(f"{path}\t{words}")

    _run(False, work)


@app.command("set")
def rules_set(
    bpo: Bpo,
    client: Client,
    file: Annotated[
        Path, typer.Option("--file", help="The override, in the format of HONORBOUND_RULES_FILE.")
    ],
) -> None:
    """Set the client's override; each period must end no later than the installation's."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"--file: cannot read {file} ({exc.strerror or 'unreadable'})")
    except UnicodeDecodeError:
        fail(f"--file: {file} is not UTF-8 text")

    def work(session: Any, rt: Any) -> None:
        client_id = _client_id(session, _bpo_id(session, bpo), client)
        row = client_rules.set_override(session, rt.rule_book, client_id, text, file.name, ACTOR)
        paths = client_rules.paths_of(rt.rule_book, row.source_text)
        out.print(f"{client}: rules override set ({len(paths)} periods).", highlight=False)

    _run(True, work)


@app.command("clear")
def rules_clear(bpo: Bpo, client: Client) -> None:
    """Remove the client's override: the installation's rules apply again."""

    def work(session: Any, rt: Any) -> None:
        client_id = _client_id(session, _bpo_id(session, bpo), client)
        cleared = client_rules.clear_override(session, client_id, ACTOR)
        out.print(f"{client}: rules override {'cleared' if cleared else 'was not set'}.")

    _run(True, work)
