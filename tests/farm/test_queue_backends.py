"""NOVAI_QUEUE_URL picks Huey's storage: SQLite file, Redis (RedisHuey) or PostgreSQL (PostgresHuey)."""

from __future__ import annotations

import pytest
from huey import PostgresHuey, RedisHuey, SqliteHuey

from jobs.queue import create_huey, libpq_dsn, queue_backend
from media.settings import reset_settings


@pytest.mark.parametrize("url, backend", [
    ("", "sqlite"), ("redis://127.0.0.1:6379/0", "redis"), ("rediss://h:6380/1", "redis"),
    ("unix:///run/redis.sock", "redis"), ("postgresql://u:p@db/novai", "postgresql"),
    ("postgres://u@db/novai", "postgresql"), ("postgresql+psycopg://u:p@db:5432/novai", "postgresql"),
])
def test_queue_url_names_the_backend(url, backend):
    assert queue_backend(url) == backend


def test_an_unknown_queue_url_is_refused_with_the_accepted_forms():
    with pytest.raises(ValueError, match=r"amqp://\.\.\. is not a queue.*redis://host:port/db.*postgresql://"):
        queue_backend("amqp://guest@rabbit/")


def test_one_url_serves_catalog_and_queue():
    assert libpq_dsn("postgresql+psycopg://u:p@db:5432/novai?sslmode=require") == \
        "postgresql://u:p@db:5432/novai?sslmode=require"


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgresql"])
def test_each_backend_round_trips_a_task_through_its_server(kind, request, monkeypatch, tmp_path):
    monkeypatch.setenv("NOVAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NOVAI_QUEUE_IMMEDIATE", raising=False)
    url = {"sqlite": lambda: "", "redis": lambda: request.getfixturevalue("redis_url"),
           "postgresql": lambda: request.getfixturevalue("postgres_url")}[kind]()
    monkeypatch.setenv("NOVAI_QUEUE_URL", url)
    reset_settings()
    try:
        queue = create_huey()
        assert isinstance(queue, {"sqlite": SqliteHuey, "redis": RedisHuey, "postgresql": PostgresHuey}[kind])

        @queue.task()
        def add(a: int, b: int) -> int:
            return a + b

        result = add(2, 3)
        assert queue.pending_count() == 1
        task = queue.dequeue()  # what a worker does, against the real server
        queue.execute(task)
        assert result.get(blocking=True, timeout=10) == 5
        assert queue.pending_count() == 0
        queue.storage.close()
    finally:
        reset_settings()


QUEUE_SCRIPT = """
import os
from jobs.queue import create_huey
queue = create_huey()
print(queue.pending_count())
"""


def test_workers_starting_together_make_the_postgres_queue_tables_once(postgres_url, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "NOVAI_QUEUE_URL": postgres_url, "NOVAI_DATA_DIR": str(tmp_path / "data")}
    env.pop("NOVAI_QUEUE_IMMEDIATE", None)
    procs = [subprocess.Popen([sys.executable, "-c", QUEUE_SCRIPT], cwd=Path(__file__).resolve().parents[2],
                              env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    outcomes = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, [err for _out, err in outcomes]
    assert [out.strip() for out, _err in outcomes] == ["0"] * 4
