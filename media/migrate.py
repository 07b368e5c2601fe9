"""The catalog's schema: Alembic revisions (``media/migrations/versions``), upgraded to the newest at start.

:func:`upgrade_catalog` runs ``alembic upgrade head`` on the catalog, under a lock that every process
of a farm takes (PostgreSQL: a transaction-scoped advisory lock; SQLite: ``BEGIN IMMEDIATE``, the file's
write lock), so the UI and several workers starting at once migrate it exactly once.

A catalog made before Alembic (tables made by ``SQLModel.metadata.create_all``, no ``alembic_version``
table) is upgraded in place: the baseline revision ``0001`` creates only the tables it lacks and keeps
every existing table and row, then the later revisions run as on any catalog.

Sources: Alembic's cookbook, "Sharing a Connection across one or more programmatic migration commands"
(https://alembic.sqlalchemy.org/en/latest/cookbook.html); PostgreSQL ``pg_advisory_xact_lock``.
"""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from media import models  # noqa: F401  (registers the tables on SQLModel.metadata)

MIGRATIONS = "media:migrations"
# Key of the advisory lock held while a PostgreSQL catalog migrates (any 64-bit number; "NOVAIMIG").
ADVISORY_LOCK_KEY = 0x4E4F5641494D4947


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: only the catalog's tables. A PostgreSQL database shared with the queue also holds
    Huey's ``huey_kv``, ``huey_task``... tables, which autogenerate must neither drop nor compare."""
    if type_ == "table":
        return name in SQLModel.metadata.tables
    return True


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the catalog's migrations; with ``connection``, env.py runs on it."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision id of the catalog's migrations (e.g. ``"0001"``)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships revisions
        raise RuntimeError("the catalog's migrations have no revision")
    return head


def current_revision(connection: Connection) -> str | None:
    """The catalog's revision (None: a new catalog, or one made before Alembic)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_catalog(engine: Engine) -> bool:
    """Upgrade the catalog behind ``engine`` to :func:`head_revision` (see the module docstring).

    Returns True when revisions were applied, False when it was already up to date. Raises the
    database's error (``sqlalchemy.exc.DBAPIError``) when it cannot be reached or written; nothing is
    half-applied on PostgreSQL (one transaction), and on SQLite the write lock holds other processes off.
    """
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return False
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # DDL in the transaction; other processes wait
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        try:
            if current_revision(conn) == head:  # another process migrated while this one waited
                conn.rollback()
                return False
            command.upgrade(alembic_config(conn), "head")
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    return True
