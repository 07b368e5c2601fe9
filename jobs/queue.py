"""The Huey instance every task registers on. Storage is chosen here and nowhere else.

``NOVAI_QUEUE_URL``:

- empty (the default): ``SqliteHuey`` on ``<data_dir>/queue.sqlite3`` (one machine);
- ``redis://host:port/db`` (also ``rediss://``, ``unix://``): ``RedisHuey`` (needs ``redis``);
- ``postgresql://user:password@host:port/db`` (also ``postgres://``, ``postgresql+psycopg://``):
  ``PostgresHuey`` (huey >= 3.5.4, psycopg 3), its tables ``huey_*`` beside the catalog's when both
  URLs name the same database. ``pip install 'novai-studio[farm]'`` installs both drivers.

Tasks never name the storage, so switching needs no change to them. ``NOVAI_QUEUE_IMMEDIATE=1`` runs tasks
inline (unit tests).

Each task starts with the settings read afresh (Huey's ``executing`` signal): keys and limits saved from
the UI live in the catalog (``media.stored_settings``), so a worker process, here or on another machine,
uses a key saved a moment ago without a restart.
"""

from __future__ import annotations

import os

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.signals import SIGNAL_EXECUTING

from media.settings import get_settings, reset_settings

QUEUE_NAME = "novai"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def queue_backend(url: str) -> str:
    """``"sqlite"``, ``"redis"`` or ``"postgresql"`` for a ``NOVAI_QUEUE_URL`` value.

    Raises ValueError naming the accepted forms for any other URL."""
    if not url:
        return "sqlite"
    if url.startswith(REDIS_SCHEMES):
        return "redis"
    if url.startswith(POSTGRES_SCHEMES):
        return "postgresql"
    raise ValueError(f"NOVAI_QUEUE_URL {url.split('://', 1)[0]}://... is not a queue this studio knows; use "
                     "'' (SQLite file), redis://host:port/db or postgresql://user:password@host:port/db")


def libpq_dsn(url: str) -> str:
    """``url`` as libpq reads it (``postgresql://...``): SQLAlchemy's ``+psycopg`` driver suffix removed,
    so one URL can name the catalog and the queue."""
    return "postgresql://" + url.split("://", 1)[1]


# Key of the advisory lock held while the queue's tables are made (any 64-bit number; "NOVAIQUE").
QUEUE_DDL_LOCK_KEY = 0x4E4F564149515545


def create_postgres_queue_tables(instance: Huey) -> None:
    """Create Huey's ``huey_*`` tables once, under a transaction-scoped advisory lock.

    Huey's own start-up runs ``CREATE TABLE IF NOT EXISTS``, which is not safe when several workers of a
    farm start at the same moment (PostgreSQL can fail one of two concurrent creations with a unique
    violation on ``pg_type``). Raises ``psycopg.OperationalError`` when the server cannot be reached."""
    import psycopg

    storage = instance.storage
    with psycopg.connect(storage.dsn, **storage.connection_params) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_DDL_LOCK_KEY,))
        for statement in storage.ddl:
            conn.execute(statement)
        conn.commit()


def read_settings_afresh(signal: str, task: object, *args: object) -> None:
    """Huey signal handler: forget the cached settings as a task starts, so it reads the keys and limits
    saved in the catalog now (see the module docstring)."""
    reset_settings()


def create_huey() -> Huey:
    """Build the Huey instance from the settings (see the module docstring)."""
    instance = _storage_huey()
    instance.signal(SIGNAL_EXECUTING)(read_settings_afresh)
    return instance


def _storage_huey() -> Huey:
    settings = get_settings()
    immediate = os.environ.get("NOVAI_QUEUE_IMMEDIATE", "") in ("1", "true", "yes")
    backend = queue_backend(settings.queue_url)
    if backend == "redis":
        return RedisHuey(QUEUE_NAME, url=settings.queue_url, immediate=immediate)
    if backend == "postgresql":
        # blocking: a worker waits on LISTEN/NOTIFY (read_timeout s) instead of polling the table.
        instance = PostgresHuey(QUEUE_NAME, dsn=libpq_dsn(settings.queue_url), immediate=immediate,
                                blocking=True, read_timeout=1, connect_timeout=10, create_tables=False)
        if not immediate:
            create_postgres_queue_tables(instance)
        return instance
    # huey >= 3.5.3: earlier 3.5.x had "database is locked" and fork/hang bugs (see pyproject).
    return SqliteHuey(QUEUE_NAME, filename=str(settings.queue_path), journal_mode="wal", timeout=15,
                      immediate=immediate)


huey: Huey = create_huey()


def enqueue_many(tasks: list) -> None:
    """Enqueue Huey tasks in order; on SQLite storage in one transaction (one commit instead of one per
    task: a 500-variant batch is queued in milliseconds). Other storages and immediate mode enqueue one
    by one through :meth:`huey.Huey.enqueue`."""
    from huey.storage import SqliteStorage

    if huey.immediate or not isinstance(huey.storage, SqliteStorage) or not tasks:
        for task in tasks:
            huey.enqueue(task)
        return
    storage = huey.storage
    rows = [(storage.name, storage.to_blob(huey.serialize_task(t)), t.priority or 0) for t in tasks]
    with storage.db(commit=True) as cursor:
        cursor.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)
