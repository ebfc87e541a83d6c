"""Run a sweep in this process and SIGKILL it inside batch N, before that batch commits.

Used by test_crash.py: `python -m tests.retention.crash_sweep SETTINGS_JSON ORG KILL_AT`.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.retention.sweep import sweep
from honorbound.runtime import build_runtime


def main() -> None:
    settings = Settings(**json.loads(sys.argv[1]))
    organization_id, kill_at = int(sys.argv[2]), int(sys.argv[3])
    runtime = build_runtime(settings, immediate_jobs=True)

    def on_batch(done: int) -> None:
        if done >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    sweep(
        runtime.db,
        runtime.keys,
        runtime.vault_keys,
        organization_id,
        Actor.system(),
        record_batch=5,
        subject_batch=1,
        on_batch=on_batch,
    )


if __name__ == "__main__":
    main()
