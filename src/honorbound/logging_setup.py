"""Structured (JSON) logs. Messages are fixed strings; context goes in fields that hold ids,
counts and rule names, never personal data. Request logs carry the route template, not the URL,
so a value placed in a path or query string never reaches the log."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                document[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # Exception type and where it happened; not its message, which may quote input.
            document["exception"] = record.exc_info[0].__name__
        return json.dumps(document, default=str)


def configure(level: str = "INFO", log_file: Path | None = None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_honorbound", False):
            root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # Logs hold no personal data, but they are the installation's files: 0600 like the rest.
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(log_file, 0o600)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(JsonFormatter())
        handler._honorbound = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Uvicorn's access log prints full URLs; ours prints route templates instead.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("huey").setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # HTTP clients log full URLs, which may carry tokens or identities.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)
