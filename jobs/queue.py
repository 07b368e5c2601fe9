"""The Huey instance every task registers on. Storage is chosen here and nowhere else.

``NOVAI_QUEUE_URL`` empty (the default) -> ``SqliteHuey`` on ``<data_dir>/queue.sqlite3``;
``redis://host:port/db`` -> ``RedisHuey`` (needs the ``redis`` package). Tasks never name the storage,
so switching needs no change to them. ``NOVAI_QUEUE_IMMEDIATE=1`` runs tasks inline (unit tests).
"""

from __future__ import annotations

import os

from huey import Huey, RedisHuey, SqliteHuey

from media.settings import get_settings


def create_huey() -> Huey:
    """Build the Huey instance from the settings (see the module docstring)."""
    settings = get_settings()
    immediate = os.environ.get("NOVAI_QUEUE_IMMEDIATE", "") in ("1", "true", "yes")
    if settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("novai", url=settings.queue_url, immediate=immediate)
    # huey >= 3.5.3: earlier 3.5.x had "database is locked" and fork/hang bugs (see pyproject).
    return SqliteHuey("novai", filename=str(settings.queue_path), journal_mode="wal", timeout=15,
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
