"""Storage: the declarative base, engines with the right SQLite pragmas, sessions, migrations."""

from honorbound.db.base import Base, utcnow
from honorbound.db.engine import Database, make_engine

__all__ = ["Base", "Database", "make_engine", "utcnow"]
