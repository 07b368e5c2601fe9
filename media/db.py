"""The catalog's database: one SQLite file (WAL mode) shared by the UI and the Huey workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from media import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from media.models import utcnow
from media.settings import get_settings

T = TypeVar("T", bound=SQLModel)


def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - trivial pragma set-up
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine for ``settings.catalog_path``; tables are created on first use."""
    path = get_settings().catalog_path
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 15}
    )
    event.listen(engine, "connect", _on_connect)
    SQLModel.metadata.create_all(engine)
    return engine


def reset_engine() -> None:
    """Dispose of the cached engine (tests point ``NOVAI_DATA_DIR`` elsewhere)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    Objects stay readable after the block (``expire_on_commit=False``).
    """
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def get_row(table: type[T], row_id: str | None, not_found: Callable[[str], Exception], what: str) -> T:
    """The ``table`` row with primary key ``row_id``.

    Raises ``not_found("no <what> with id <row_id>")`` when there is none.
    """
    with session_scope() as session:
        row = session.get(table, row_id or "")
        if row is None:
            raise not_found(f"no {what} with id {row_id}")
        return row


def update_row(table: type[T], row_id: str, not_found: Callable[[str], Exception], what: str,
               **fields: Any) -> T:
    """Set columns on one row (and ``updated_at`` when the table has it); returns the row.

    Raises ``not_found("no <what> with id <row_id>")`` when there is no such row.
    """
    with session_scope() as session:
        row = session.get(table, row_id or "")
        if row is None:
            raise not_found(f"no {what} with id {row_id}")
        for key, value in fields.items():
            setattr(row, key, value)
        if "updated_at" in table.model_fields and "updated_at" not in fields:
            row.updated_at = utcnow()
        session.add(row)
        return row
