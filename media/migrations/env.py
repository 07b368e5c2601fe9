"""Alembic environment of the catalog: the SQLModel tables are the target; Huey's tables are not ours.

Run by :func:`media.migrate.upgrade_catalog` with a connection in ``config.attributes["connection"]``
(inside the caller's transaction and lock), or from the command line for a new revision::

    alembic -c media/migrations/alembic.ini revision --autogenerate -m "what changed"

which compares the catalog named by ``NOVAI_DATABASE_URL`` (default: the SQLite file) with the tables.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from media import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from media.migrate import include_name

config = context.config
target_metadata = SQLModel.metadata


def run_on(connection) -> None:
    """Run the migrations on ``connection`` (SQLite in batch mode, so later ALTERs work there)."""
    context.configure(connection=connection, target_metadata=target_metadata, include_name=include_name,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from media.db import create_catalog_engine
    from media.settings import Settings

    # Settings(), not get_settings(): that one reads saved keys from the catalog, which would migrate it.
    engine = create_catalog_engine(config.get_main_option("sqlalchemy.url") or Settings().catalog_url)
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_online()
