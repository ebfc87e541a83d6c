"""Write docs/cli.md: the reference of every `honorbound` command, generated from its `--help`.

    python scripts/cli_docs.py          # rewrite docs/cli.md (`make docs`)
    python scripts/cli_docs.py --check  # exit 1 if docs/cli.md is not what the code says

The help is click's plain-text format at a fixed width (`TYPER_USE_RICH=0`, read when typer is
imported: not the terminal's rich boxes), so the file is the same on every machine.
tests/foundation/test_docs.py runs `--check` in its own process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ["TYPER_USE_RICH"] = "0"


import typer  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from honorbound.cli import build_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "cli.md"
WIDTH = 100

HEADER = """# Command-line reference

Generated from each command's `--help` by `make docs` (`scripts/cli_docs.py`); do not edit by
hand: change the command's docstring or option help and run `make docs`. A test fails when this
file and the code disagree. What the commands are for is in the feature docs (rights.md,
consent.md, operations.md, ...).
"""


def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command, parents before children, subcommands sorted by name."""
    yield path, command
    if isinstance(getattr(command, "commands", None), dict):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if not sub.hidden:
                yield from walk(sub, (*path, name))


def plain_help(path: tuple[str, ...]) -> str:
    """`honorbound ... --help`, run in this process at a fixed width."""
    result = CliRunner().invoke(build_app(), [*path[1:], "--help"], terminal_width=WIDTH)
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join(path)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.splitlines()).strip()


def commands() -> list[tuple[str, ...]]:
    """Every command path below `honorbound` (for the docs-cover test)."""
    root = typer.main.get_command(build_app())
    return [path for path, _ in walk(root, ("honorbound",)) if len(path) > 1]


def render() -> str:
    root = typer.main.get_command(build_app())
    parts = [HEADER]
    for path, _command in walk(root, ("honorbound",)):
        parts.append(f"\n## `{' '.join(path)}`\n\n```text\n{plain_help(path)}\n```\n")
    return "".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
            print("docs/cli.md is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
