"""The catalog's database: the SQLite file (WAL mode) shared by the UI and the Huey workers, or a
PostgreSQL server shared by a render farm (``NOVAI_DATABASE_URL``).

The schema is Alembic's (:mod:`media.migrate`): the first engine of a process upgrades the catalog to the
newest revision, so a catalog made by an older studio is upgraded in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
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


def normalize_url(url: str) -> str:
    """``url`` with a plain ``postgresql://`` / ``postgres://`` scheme given the psycopg (3) driver the
    ``farm`` extra installs (``postgresql+psycopg://``); other URLs unchanged."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def create_catalog_engine(url: str) -> Engine:
    """A new engine for the catalog at SQLAlchemy ``url`` (not migrated; see :func:`get_engine`).

    SQLite: WAL journal, 15 s busy timeout, foreign keys off (the PRAGMAs, on each connection).
    PostgreSQL (``postgresql+psycopg://user:password@host:port/db``): pooled connections checked before
    use (a restarted server is not an error), 10 s connect timeout.
    Raises ``sqlalchemy.exc.ArgumentError`` for a URL SQLAlchemy cannot parse and ``ModuleNotFoundError``
    when the driver is missing (``pip install 'novai-studio[farm]'``).
    """
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _on_connect)
        return engine
    connect_args = {"connect_timeout": 10} if backend == "postgresql" else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args)


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.RLock()


def engine_for_url(url: str) -> Engine:
    """The process-wide engine of the catalog at ``url``, upgraded to the newest schema revision on first
    use (``media.migrate.upgrade_catalog``). Raises what the upgrade raises (nothing is cached then)."""
    engine = _ENGINES.get(url)
    if engine is not None:
        return engine
    from media.migrate import upgrade_catalog

    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = create_catalog_engine(url)
            try:
                upgrade_catalog(engine)
            except BaseException:
                engine.dispose()
                raise
            _ENGINES[url] = engine
    return engine


def get_engine() -> Engine:
    """The process-wide engine of the catalog in the settings (``NOVAI_DATABASE_URL``, default the SQLite
    file ``<data_dir>/catalog.sqlite3``), upgraded to the newest schema revision on first use."""
    return engine_for_url(get_settings().catalog_url)


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
    """Dispose of the cached engines (tests point ``NOVAI_DATA_DIR`` elsewhere)."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


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
