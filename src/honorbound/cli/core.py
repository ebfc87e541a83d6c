"""init, demo, serve, worker, db: getting an installation running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from honorbound.accounts.models import Organization
from honorbound.accounts.passwords import generate_password
from honorbound.accounts.roles import Role
from honorbound.accounts.service import (
    AccountError,
    create_organization,
    create_user,
    issue_api_key,
)
from honorbound.audit import Actor
from honorbound.cli.common import fail, out, runtime, settings
from honorbound.config import Settings
from honorbound.crypto.keys import generate_master_key, write_key_file
from honorbound.crypto.providers import Pkcs11Provider
from honorbound.db import migrate
from honorbound.db.files import private_dir


def _ensure_master_key(loaded: Settings) -> bool:
    """Create the master key if none is configured: a 0600 file, or, with the PKCS#11
    provider, wrapped by the token's key (made in the token if missing). True when created."""
    if loaded.key_provider == "pkcs11":
        from honorbound.runtime import master_key_provider

        if loaded.resolved_wrapped_master_key_file.exists():
            return False
        provider = master_key_provider(loaded)
        assert isinstance(provider, Pkcs11Provider)
        provider.wrap(generate_master_key(), create_key=True)
        return True
    if loaded.master_key:
        return False
    path = loaded.resolved_master_key_file
    if path.exists():
        return False
    write_key_file(path, generate_master_key())
    return True


def _organization_count(loaded: Settings) -> int:
    rt = runtime(loaded=loaded)
    try:
        with rt.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Organization)) or 0)
    finally:
        rt.close()


def prepare(loaded: Settings) -> bool:
    """Key file and schema; returns True when the key was created now."""
    private_dir(loaded.data_dir)
    created = _ensure_master_key(loaded)
    migrate.upgrade(loaded.resolved_database_url)
    return created


def init(
    org_slug: Annotated[str, typer.Option(help="Short id of the first organization.")] = "main",
    org_name: Annotated[str, typer.Option(help="Name of the first organization.")] = "My "
    "Organization",
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
) -> None:
    """Create the key file, the database and the first organization with its administrator.

    Prints the administrator's password and an admin API key once: store them now.
    """
    loaded = settings()
    created = prepare(loaded)
    if _organization_count(loaded):
        fail(
            "this installation is already initialised; sign in with the existing "
            "administrator, or point HONORBOUND_DATA_DIR at an empty directory."
        )
    rt = runtime(loaded=loaded)
    password = generate_password()
    try:
        with rt.db.session() as session:
            actor = Actor("cli:init", "system")
            org = create_organization(session, org_slug, org_name, actor)
            create_user(session, admin, password, "Administrator", actor, org.id, Role.ADMIN)
            _, key = issue_api_key(session, org.id, Role.ADMIN, "created by init", actor)
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()
    if created:
        out.print(
            f"Master key written to {loaded.resolved_master_key_file} (mode 0600). "
            "Back it up: without it no personal data can be read."
        )
    out.print(f"Organization: {org_slug}")
    out.print(f"Administrator: {admin}")
    out.print(f"Password: {password}")
    out.print(f"Admin API key: {key}")
    out.print("These are shown once. Store them now.")


def demo(
    quiet: Annotated[bool, typer.Option(help="Only print the login.")] = False,
) -> None:
    """Load the demo organizations, staff and synthetic people (once), then print the login."""
    from honorbound.demo import load_demo

    loaded = settings()
    prepare(loaded)
    credentials = loaded.data_dir / "demo-login.txt"
    if not _organization_count(loaded):
        rt = runtime(loaded=loaded, immediate_jobs=True)
        try:
            text = load_demo(rt, quiet=quiet)
        finally:
            rt.close()
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    elif not credentials.exists():
        fail(
            "the database already holds organizations that are not the demo's; "
            "use a new HONORBOUND_DATA_DIR for the demo."
        )
    out.print(credentials.read_text(), highlight=False)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    worker: Annotated[bool, typer.Option(help="Also run a job worker process.")] = True,
) -> None:
    """Serve the API, portal and console (and a worker, in development)."""
    import uvicorn

    from honorbound.api.app import create_app

    loaded = settings()
    # No transports in the web process: mail is sent by the worker only, so a slow mail
    # server cannot hold a request (or a database lock a request waits for).
    rt = runtime(loaded=loaded, transports=False)
    app = create_app(rt)
    child: subprocess.Popen[bytes] | None = None
    if worker:
        child = subprocess.Popen([sys.executable, "-m", "honorbound", "worker"])
    out.print(
        f"Honorbound on http://{host or loaded.host}:{port or loaded.port} "
        f"(health: /healthz, console: /console)"
    )
    try:
        uvicorn.run(
            app,
            host=host or loaded.host,
            port=port or loaded.port,
            log_config=None,
            access_log=False,
        )
    finally:
        if child is not None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        rt.close()


def worker(
    threads: Annotated[int, typer.Option(help="Worker threads.", min=1, max=64)] = 2,
) -> None:
    """Run background and scheduled jobs until stopped. Jobs left by a crash run again."""
    from honorbound.runtime import register_periodic

    rt = runtime()
    register_periodic(rt)
    resent = rt.jobs.recover()
    if resent:
        out.print(f"re-sent {resent} job(s) left by an earlier worker")
    consumer = rt.huey.create_consumer(
        workers=threads, worker_type="thread", periodic=True, check_worker_health=True
    )
    consumer.run()


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    loaded = settings()
    migrate.upgrade(loaded.resolved_database_url)
    out.print(f"schema at {migrate.current(loaded.resolved_database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision."""
    out.print(str(migrate.current(settings().resolved_database_url)))


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(demo)
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db_app, name="db")
    _ = Path  # keep import for type hints in callers
