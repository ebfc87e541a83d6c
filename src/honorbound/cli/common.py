"""What every command needs: settings and a runtime, with errors printed as one sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from honorbound import logging_setup
from honorbound.config import ConfigError, Settings, load_settings
from honorbound.crypto.keys import MasterKeyError

if TYPE_CHECKING:
    from honorbound.runtime import Runtime

# soft_wrap: rich inserts no line breaks (paths and sentences stay whole for grep and copy).
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        loaded = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    logging_setup.configure(loaded.log_level, loaded.log_file)
    return loaded


def runtime(
    immediate_jobs: bool = False, loaded: Settings | None = None, transports: bool = True
) -> Runtime:
    from honorbound.runtime import build_runtime  # loads every area: only when a command needs it

    try:
        return build_runtime(
            loaded or settings(), immediate_jobs=immediate_jobs, transports=transports
        )
    except (MasterKeyError, ConfigError) as exc:
        fail(str(exc))
