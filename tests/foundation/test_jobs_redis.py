"""The job queue on Redis (HONORBOUND_REDIS_URL): a real redis-server on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from honorbound.config import Settings
from honorbound.runtime import build_runtime
from tests.foundation.test_jobs import _env, _wait
from tests.support.smtp import free_port

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if REDIS is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed; .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.timeout(90)
def test_job_runs_through_redis(settings: Settings, redis_url: str) -> None:
    settings = settings.model_copy(update={"redis_url": redis_url})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt = build_runtime(settings)
    with rt.db.session() as session:
        job = rt.jobs.enqueue(session, "system.probe", {"sleep": 0})
    rt.close()
    env = {**_env(settings), "HONORBOUND_REDIS_URL": redis_url}
    worker = subprocess.Popen([sys.executable, "-m", "honorbound", "worker"], env=env)
    try:
        assert _wait(settings, job.id, "done")[0] == "done"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    assert not (settings.data_dir / "jobs.db").exists()  # the SQLite queue was not used
