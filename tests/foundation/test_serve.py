"""What `make run` does, end to end: `honorbound demo` then `honorbound serve` in real processes,
then a real HTTP client on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from honorbound.demo import DEMO_SUBJECTS
from honorbound.demo_subjects import TRY_IT, people
from tests.support.smtp import free_port


# Timeouts here guard against a hang, not speed (speed lives in bench/): `honorbound demo` takes
# ~11 s at load 2 and passed 120 s at load 11-16 on this 2-core machine.
@pytest.mark.timeout(900)
def test_demo_then_serve(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    log_file = tmp_path / "honorbound.log"
    env.update(
        {
            "HONORBOUND_DATA_DIR": str(tmp_path / "var"),
            "HONORBOUND_LOG_LEVEL": "DEBUG",
            "HONORBOUND_LOG_FILE": str(log_file),
        }
    )
    demo = subprocess.run(
        [sys.executable, "-m", "honorbound", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    assert "username: admin" in demo.stdout and "password:" in demo.stdout
    # One demo consumer to try the portal with (synthetic, a reserved domain).
    assert f"email: {TRY_IT.email}" in demo.stdout and TRY_IT.email.endswith("@example.com")
    key_file = tmp_path / "var" / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var" / "demo-login.txt").stat().st_mode & 0o777 == 0o600
    again = subprocess.run(
        [sys.executable, "-m", "honorbound", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and again.stdout == demo.stdout  # idempotent, same login

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "honorbound", "serve", "--port", str(port)], env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        login = httpx.get(f"{base}/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        key = next(
            line.split(": ", 1)[1] for line in demo.stdout.splitlines() if "admin API key" in line
        )
        me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {key.strip()}"})
        assert me.json()["organization_slug"] == "demo"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    # The demo's people went through the vault; none of their values may reach a log.
    logged = log_file.read_text(encoding="utf-8") + demo.stdout + demo.stderr
    assert log_file.stat().st_size > 0  # the grep below reads a real log
    for value in (TRY_IT.email, TRY_IT.phone, TRY_IT.phone[2:]):
        assert value not in log_file.read_text(encoding="utf-8")
    for person in people(DEMO_SUBJECTS):
        for value in (person.email, person.phone, person.phone[2:], person.name):
            assert value not in logged, "a demo person's value reached the log"


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(x) for x in path.read_text().split()} if path.exists() else set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_its_worker_when_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    """`kill` (SIGTERM) or Ctrl-C on `honorbound serve` stops the worker it started too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    env["HONORBOUND_DATA_DIR"] = str(tmp_path / "var")
    subprocess.run(
        [sys.executable, "-m", "honorbound", "init"],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,  # the administrator's password: not for the test log
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "honorbound", "serve", "--port", str(port)], env=env
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        workers = _children(server.pid)
        assert workers, "serve started no worker"
        server.send_signal(stop)
        server.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), "the worker outlived serve"
    finally:
        if server.poll() is None:
            server.kill()
        for pid in workers:  # never leave an orphan behind, even when the test fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
