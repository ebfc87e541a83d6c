"""The migrations produce exactly the tables the models describe (no forgotten migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from honorbound import models
from honorbound.runtime import Runtime


def test_migrations_match_models(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), models.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_migrations_have_a_single_head() -> None:
    from alembic.script import ScriptDirectory

    from honorbound.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision"
