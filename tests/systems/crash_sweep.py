"""Run a systems sweep in this process and SIGKILL it after batch N changed the system, before
the journal says so. Used by test_sweep.py:
`python -m tests.systems.crash_sweep SETTINGS_JSON ORG KILL_AT` (connection URLs from the env)."""

from __future__ import annotations

import json
import os
import signal
import sys

from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.runtime import build_runtime
from honorbound.systems.jobs import context
from honorbound.systems.sweep import sweep


def main() -> None:
    settings = Settings(**json.loads(sys.argv[1]))
    organization_id, kill_at = int(sys.argv[2]), int(sys.argv[3])
    runtime = build_runtime(settings, immediate_jobs=True)

    def on_stage(stage: str, batch: int) -> None:
        if stage == "changed" and batch >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    sweep(
        runtime.db,
        runtime.keys,
        runtime.vault_keys,
        context(runtime),
        organization_id,
        Actor.system(),
        batch=1,
        on_stage=on_stage,
    )


if __name__ == "__main__":
    main()
