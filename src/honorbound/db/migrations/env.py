"""Alembic environment: runs against the URL the caller put in the config."""

from __future__ import annotations

from alembic import context

from honorbound import models
from honorbound.db.engine import make_engine

config = context.config
target_metadata = models.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables (copy, drop, rename); with foreign keys on, dropping a
            # parent table would run its ON DELETE CASCADE actions. The pragma only takes effect
            # outside a transaction, so it goes on the driver connection before ours begins.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"the migration left {len(broken)} row(s) whose foreign key points "
                        f"nowhere (first in table {broken[0][0]}); nothing was changed"
                    )
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
