"""`honorbound report rights-metrics --year YYYY [--format csv|html] [--org SLUG] [--output F]`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.cli.common import fail, out, runtime
from honorbound.rights import metrics
from honorbound.rights.rules import load_rights_rules

report = typer.Typer(help="Reports a regulator or the public may ask for.", no_args_is_help=True)


class Format(StrEnum):
    csv = "csv"
    html = "html"


@report.command("rights-metrics")
def rights_metrics(
    year: Annotated[int, typer.Option(help="Calendar year of the requests (received that year).")],
    format_: Annotated[Format, typer.Option("--format", help="csv or html.")] = Format.csv,
    org: Annotated[
        str | None, typer.Option(help="Organization slug (needed when there are several).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """The CA 7102 table: per request type, received, complied in whole or part, denied, and
    median and mean days to respond."""
    if not 2020 <= year <= 2100:
        fail(f"--year {year} is not a plausible calendar year (2020-2100)")
    rt = runtime()
    try:
        with rt.db.session() as session:
            query = select(Organization)
            if org is not None:
                query = query.where(Organization.slug == org)
            orgs = list(session.scalars(query))
            if not orgs:
                fail(f"no organization with slug {org!r}" if org else "no organization exists yet")
            if len(orgs) > 1:
                fail("several organizations exist; name one with --org SLUG")
            chosen = orgs[0]
            laws = rt.rules
            rows = metrics.compute(
                session,
                chosen.id,
                year,
                load_rights_rules(),
                list(laws.california.metrics.request_types),
            )
            text = (
                metrics.to_csv(rows)
                if format_ is Format.csv
                else metrics.to_html(rows, chosen.name, year)
            )
    finally:
        rt.close()
    if output is not None:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)
