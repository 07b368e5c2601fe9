"""The catalog's database: one SQLite file (WAL mode) shared by the UI and the Huey workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, create_engine

from media import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from media.errors import StudioError
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


class CatalogUnavailable(StudioError, OSError):
    """The catalog cannot be written or opened (read-only file or folder, full disk, I/O error).

    The message says which, and what to do, without the server's paths."""


_CATALOG_PROBLEMS = (
    ("readonly", ("the catalog is read-only, so nothing can be saved; make catalog.sqlite3 (and the data "
                 "folder holding it) writable by the user running the studio, then restart it")),
    ("disk is full", ("the disk holding the data folder is full, so the catalog could not be saved; free "
                     "some space and try again")),
    ("disk i/o error", ("the disk holding the catalog reported an I/O error (full or failing disk?); "
                       "free some space or check the disk, then try again")),
    ("unable to open database", ("the catalog cannot be opened (the data folder is missing or not "
                                "writable by the user running the studio)")),
)


def catalog_problem(exc: BaseException) -> CatalogUnavailable | None:
    """A :class:`CatalogUnavailable` naming the problem for a database error about the catalog's file
    (read-only, full disk, I/O error, cannot open), or None for any other error."""
    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig if exc.orig is not None else exc).lower()
    for needle, message in _CATALOG_PROBLEMS:
        if needle in text:
            return CatalogUnavailable(f"{message} (database error: {str(exc.orig).strip()})")
    return None


def reset_engine() -> None:
    """Dispose of the cached engine (tests point ``NOVAI_DATA_DIR`` elsewhere)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    Objects stay readable after the block (``expire_on_commit=False``).
    Raises :class:`CatalogUnavailable` for a read-only or full catalog (see :func:`catalog_problem`).
    """
    try:
        engine = get_engine()
    except DBAPIError as exc:
        raise (catalog_problem(exc) or exc) from exc
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except DBAPIError as exc:
        session.rollback()
        raise (catalog_problem(exc) or exc) from exc
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
