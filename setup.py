"""Build hook: compile the detection engine with mypyc.

`honorbound.detect` is typed, pure Python; mypyc (part of mypy) compiles its hot modules to C
extensions, which scan text about 1.8x faster with identical results. Everything else is in
pyproject.toml.

Where nothing can be compiled (no C compiler, a type error, HONORBOUND_PURE_PYTHON=1) the
install goes on and the engine runs as plain Python, same results, slower: compiled modules
left from an earlier build are removed then, so they cannot shadow newer sources. Each build
writes `detect/_compiled.json`, the SHA-256 of every compiled source, which
`honorbound.detect.build` checks at import.

    HONORBOUND_PURE_PYTHON=1 pip install -e .   # skip compilation
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
DETECT = ROOT / "src" / "honorbound" / "detect"
MANIFEST = DETECT / "_compiled.json"

# The modules on the scanning path. operators.py (redaction, crypto) is not hot; build.py
# checks the build and must stay interpreted.
COMPILED = [
    "prepared",
    "context",
    "digits",
    "numbers",
    "conversation",
    "validators",
    "patterns",
    "people",
    "intents",
    "findings",
    "resources",
    "whole",
    "engine",
]


def _remove_old_build() -> None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for stale in [*DETECT.glob(f"*{suffix}"), *(ROOT / "src").glob(f"*__mypyc*{suffix}")]:
            stale.unlink()
    MANIFEST.unlink(missing_ok=True)


def _pure(why: str) -> list:  # type: ignore[type-arg]
    print(f"honorbound.detect stays plain Python: {why}", file=sys.stderr)
    _remove_old_build()
    return []


def _extensions() -> list:  # type: ignore[type-arg]
    if os.environ.get("HONORBOUND_PURE_PYTHON") == "1":
        return _pure("HONORBOUND_PURE_PYTHON=1")
    try:
        from mypyc.build import mypycify
    except ImportError:
        return _pure("mypyc is not installed")
    sources = [f"src/honorbound/detect/{name}.py" for name in COMPILED]
    try:
        extensions = mypycify(sources, opt_level="3", group_name="honorbound_detect")
    except (SystemExit, Exception) as exc:  # mypyc exits on a type error
        return _pure(f"mypyc could not compile it ({exc!r})")
    for extension in extensions:
        # No C compiler here: keep going, plain Python runs (slower, same results).
        extension.optional = True
    hashes = {
        name: hashlib.sha256((DETECT / f"{name}.py").read_bytes()).hexdigest() for name in COMPILED
    }
    MANIFEST.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return extensions


setup(ext_modules=_extensions())
