"""Browser harness: the real app in a real uvicorn server on a loopback port, driven by
Debian's Chromium through Playwright. A failing browser test leaves a screenshot in
test-output/screenshots/."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_user
from honorbound.api.app import create_app
from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.policy.store import adopt_text
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.support.smtp import SmtpSink, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DECLARATION = Path(__file__).with_name("declaration.yaml")
PASSWORD = "a long staff passphrase 7"


class _OnlyWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_SINK_FILTER = _OnlyWarnings()


@pytest.fixture(autouse=True)
def _quiet_smtp_sink() -> None:
    """The loopback SMTP server (aiosmtpd) logs envelopes, recipients included: that is the
    test's mail server talking, not Honorbound, so it stays out of the personal-data log check.
    A filter, not a level: its thread may still log after a test's teardown."""
    logger = logging.getLogger("mail.log")
    if _SINK_FILTER not in logger.filters:
        logger.addFilter(_SINK_FILTER)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


class LiveServer:
    """The app served by uvicorn in a thread of the test process, on 127.0.0.1."""

    def __init__(self, runtime: Runtime, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(runtime),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,  # uvicorn's access log prints full URLs
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start on the loopback port")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    server = LiveServer(runtime)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: install the chromium package")
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium); CI runs these")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory for pages in fresh browser contexts (own cookies); screenshots every page
    it made when the test fails."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make(**context_options: Any) -> Any:
        context = browser.new_context(**context_options)
        # Generous: a loaded 2-core runner renders slowly, and speed is benchmarked, not tested.
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield make
    failed = any(
        getattr(request.node, f"rep_{when}", None) is not None
        and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for index, page in enumerate(pages):
            # A closed page cannot be photographed; keep the others.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{index}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()


@dataclass
class StaffLogin:
    username: str
    password: str


def add_staff(runtime: Runtime, tenant: Tenant, username: str, role: Role) -> StaffLogin:
    with runtime.db.session() as session:
        create_user(
            session, username, PASSWORD, username.title(), Actor("test", "system"), tenant.id, role
        )
    return StaffLogin(username, PASSWORD)


def sign_in(page: Any, base: str, login: StaffLogin) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console")


def adopt(runtime: Runtime, organization_id: int, text: str | None = None) -> None:
    with runtime.db.session() as session:
        adopt_text(
            session,
            organization_id,
            text or DECLARATION.read_text(),
            Actor("test", "system"),
            jobs=runtime.jobs,
        )


@dataclass
class MailedServer:
    """A live server whose runtime delivers mail to the loopback SMTP sink, with links that
    point back at it (Settings.base_url)."""

    server: LiveServer
    runtime: Runtime
    smtp: SmtpSink

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def mailed_server(settings: Settings, smtp: SmtpSink) -> Iterator[MailedServer]:
    port = free_port()
    configured = settings.model_copy(
        update={"smtp_url": smtp.url, "base_url": f"http://127.0.0.1:{port}"}
    )
    rt = build_runtime(configured, immediate_jobs=True)
    server = LiveServer(rt, port)
    server.start()
    yield MailedServer(server, rt, smtp)
    server.stop()
    rt.close()


def mail_text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def link_token(message: Any, action: str) -> str:
    """The token of the `action` link (verify, download, appeal) in a mail."""
    match = re.search(rf"/requests/{action}\?token=(\S+)", mail_text(message))
    assert match, f"no {action} link in the mail"
    return match.group(1)
