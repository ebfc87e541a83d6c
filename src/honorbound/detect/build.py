"""Which build of the engine is running: compiled by mypyc (setup.py) or plain Python.

The compiled modules sit next to their sources, and Python imports a compiled module before a
source file of the same name. A source edited after the last build would silently not run, so
importing the package refuses a compiled module whose source is not the one it was built from:
each build records the SHA-256 of every compiled source in `_compiled.json`, and a source that
no longer matches (or a compiled module with no record) raises `StaleBuild`, saying how to
rebuild. Content, not timestamps: a source copied with its old time is caught too.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = "_compiled.json"


class StaleBuild(ImportError):
    """A compiled module was not built from the source next to it."""


def compiled_modules(directory: Path = HERE) -> dict[str, Path]:
    """Module name -> compiled file, for the modules in `directory` that have one."""
    found: dict[str, Path] = {}
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for path in directory.glob(f"*{suffix}"):
            found[path.name[: -len(suffix)]] = path
    return found


def check_fresh(directory: Path = HERE) -> None:
    """Raise StaleBuild when a compiled module's source changed since it was built."""
    binaries = compiled_modules(directory)
    if not binaries:
        return
    try:
        built = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        built = {}
    for name, binary in sorted(binaries.items()):
        source = directory / f"{name}.py"
        if not source.exists():
            continue
        if hashlib.sha256(source.read_bytes()).hexdigest() != built.get(name):
            raise StaleBuild(
                f"honorbound.detect: the compiled module {binary.name} was not built from the "
                f"current {name}.py. Rebuild it with `make` (or `pip install -e .`), or delete "
                f"{directory}/*.so to run the plain-Python engine."
            )


def is_compiled() -> bool:
    """Whether the scanning engine runs compiled."""
    from honorbound.detect import engine

    return not str(engine.__file__).endswith(".py")
