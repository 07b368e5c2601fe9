"""Settings saved from the UI (provider keys, the daily limit), kept in the catalog as JSON objects.

The catalog is the one place every process sees: the UI, its in-process workers and, on a farm, every
``python -m jobs.worker`` on every machine (``NOVAI_DATABASE_URL``). Workers read settings afresh when a
task starts (``jobs.queue``), so a value saved in the UI reaches them without a restart.

Changes are read-modify-write under the database's lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL
``SELECT ... FOR UPDATE`` of the row), so two processes saving different entries at once lose neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from media.db import catalog_problem, get_engine
from media.models import StoredSetting, utcnow

TABLE = StoredSetting.__table__


def read_setting(name: str, engine: Engine | None = None) -> dict[str, Any] | None:
    """The JSON object saved under ``name``, or None when nothing is saved.

    ``engine``: the catalog (default ``media.db.get_engine()``). Raises ``CatalogUnavailable`` when the
    catalog cannot be read."""
    try:
        with (engine or get_engine()).connect() as conn:
            row = conn.execute(select(TABLE.c.value).where(TABLE.c.name == name)).first()
    except DBAPIError as exc:
        raise (catalog_problem(exc) or exc) from exc
    return dict(row[0]) if row is not None and isinstance(row[0], dict) else None


def change_setting(name: str, change: Callable[[dict[str, Any]], dict[str, Any]],
                   engine: Engine | None = None) -> dict[str, Any]:
    """Replace the object under ``name`` by ``change(current)`` (``{}`` when none) in one locked
    transaction; returns the new object. Raises ``CatalogUnavailable`` for a read-only or full catalog."""
    engine = engine or get_engine()
    try:
        return _change(engine, name, change)
    except IntegrityError:  # another process inserted the first value at the same moment: read it, redo
        return _change(engine, name, change)
    except DBAPIError as exc:
        raise (catalog_problem(exc) or exc) from exc


def _change(engine: Engine, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            row = conn.execute(select(TABLE.c.value).where(TABLE.c.name == name).with_for_update()).first()
            current = dict(row[0]) if row is not None and isinstance(row[0], dict) else {}
            new = change(dict(current))
            if row is None:
                conn.execute(insert(TABLE).values(name=name, value=new, updated_at=utcnow()))
            else:
                conn.execute(update(TABLE).where(TABLE.c.name == name).values(value=new, updated_at=utcnow()))
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    return new
