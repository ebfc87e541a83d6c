"""Which build of the engine is running: compiled by mypyc (setup.py) or pure Python.

The compiled modules sit next to their sources, and Python imports a compiled module before a
source file of the same name. A source edited after the last build would silently not run, so
importing the package refuses a compiled module older than its source, and says how to
rebuild.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A wheel or a fresh build writes sources and compiled modules within moments of each other.
_SLACK_SECONDS = 2.0


class StaleBuild(ImportError):
    """A compiled module is older than the source it was built from."""


def compiled_modules(directory: Path = HERE) -> dict[str, Path]:
    """Module name -> compiled file, for the modules in `directory` that have one."""
    found: dict[str, Path] = {}
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for path in directory.glob(f"*{suffix}"):
            found[path.name[: -len(suffix)]] = path
    return found


def check_fresh(directory: Path = HERE) -> None:
    """Raise StaleBuild when a compiled module is older than its source."""
    for name, binary in compiled_modules(directory).items():
        source = directory / f"{name}.py"
        if source.exists() and source.stat().st_mtime > binary.stat().st_mtime + _SLACK_SECONDS:
            raise StaleBuild(
                f"honorbound.detect: the compiled module {binary.name} is older than {name}.py. "
                "Rebuild it with `make` (or `pip install -e .`), or delete "
                f"{directory}/*.so to run the pure-Python engine."
            )


def is_compiled() -> bool:
    """Whether the scanning engine runs compiled."""
    from honorbound.detect import engine

    return not str(engine.__file__).endswith(".py")
