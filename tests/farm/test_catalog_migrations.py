"""The catalog's Alembic migrations: new catalogs, catalogs made before Alembic, several processes at once,
and the guard that the revisions build exactly the SQLModel tables (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from media import db, migrate
from media.migrate import include_name
from media.models import Job, Transcript, Variant

ROOT = Path(__file__).resolve().parents[2]
MAIN_SCHEMA = Path(__file__).parent / "data" / "catalog_main_5efda24.sql"
NEW_REVISION_HINT = ("the SQLModel tables differ from what the migrations build: add a revision with "
                     "`alembic -c media/migrations/alembic.ini revision --autogenerate -m '...'` and review it")


def schema_differences(engine) -> list:
    """Alembic's autogenerate comparison of the database behind ``engine`` with the SQLModel tables."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def make_main_catalog(path: Path, skip_tables: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """A catalog as main (5efda24) made it: its frozen create_all schema, one row in every table.

    ``skip_tables``: tables left out (an older studio's catalog). Returns every table's rows."""
    statements = [s.strip() for s in MAIN_SCHEMA.read_text().split(";") if s.strip()]
    statements = ["\n".join(line for line in s.splitlines() if not line.startswith("--")) for s in statements]
    conn = sqlite3.connect(path)
    for statement in statements:
        if not any(f"ON {t} " in statement or f"TABLE {t} " in statement for t in skip_tables):
            conn.execute(statement)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    samples = {"VARCHAR": "{t}-{c}", "INTEGER": 7, "FLOAT": 1.5, "BOOLEAN": 1, "JSON": '{{"k": "{t}"}}',
               "DATETIME": "2026-12-01 10:00:00.000000"}
    for table in tables:
        columns = [(r[1], r[2]) for r in conn.execute(f"PRAGMA table_info({table})")]
        values = [samples[kind].format(t=table, c=name) if isinstance(samples[kind], str) else samples[kind]
                  for name, kind in columns]
        names = ", ".join(f'"{name}"' for name, _ in columns)
        conn.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))})", values)
    conn.commit()
    rows = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    conn.close()
    return rows


def test_a_new_sqlite_catalog_is_built_by_the_migrations_and_matches_the_tables(fresh_data_dir):
    engine = db.get_engine()
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    assert schema_differences(engine) == [], NEW_REVISION_HINT


def test_a_catalog_made_by_main_upgrades_in_place_with_every_row_kept(fresh_data_dir):
    fresh_data_dir.mkdir(parents=True, exist_ok=True)
    catalog = fresh_data_dir / "catalog.sqlite3"
    before = make_main_catalog(catalog)
    assert "alembic_version" not in before and len(before) == 16

    engine = db.get_engine()  # the studio's first engine upgrades the catalog

    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        for table, rows in before.items():
            assert sorted(conn.execute(text(f"SELECT * FROM {table}")).fetchall()) == rows, table
    assert schema_differences(engine) == [], NEW_REVISION_HINT
    with Session(engine) as session:  # and the studio reads them as its own rows
        job = session.get(Job, "jobs-id")
        assert job is not None and job.status == "jobs-status" and job.input_payload == {"k": "jobs"}
        assert session.get(Transcript, "transcripts-id").text == "transcripts-text"
        assert session.get(Variant, "variants-id").index == 7
    assert migrate.upgrade_catalog(engine) is False  # a second start changes nothing


def test_an_older_catalog_gains_the_tables_its_studio_did_not_have(fresh_data_dir):
    fresh_data_dir.mkdir(parents=True, exist_ok=True)
    before = make_main_catalog(fresh_data_dir / "catalog.sqlite3", skip_tables=("transcripts", "batch_webhooks"))
    assert "transcripts" not in before

    engine = db.get_engine()

    tables = set(inspect(engine).get_table_names())
    assert {"transcripts", "batch_webhooks"} <= tables
    with engine.connect() as conn:
        for table, rows in before.items():
            assert sorted(conn.execute(text(f"SELECT * FROM {table}")).fetchall()) == rows, table
    assert schema_differences(engine) == [], NEW_REVISION_HINT


UPGRADE_SCRIPT = """
import sys
from media.db import create_catalog_engine
from media.migrate import upgrade_catalog
engine = create_catalog_engine(sys.argv[1])
print("applied" if upgrade_catalog(engine) else "current")
"""


def _upgrade_in_processes(url: str, count: int) -> list[str]:
    """Start ``count`` processes that upgrade the catalog at ``url`` at the same moment; their answers."""
    procs = [subprocess.Popen([sys.executable, "-c", UPGRADE_SCRIPT, url], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(out.strip())
    return sorted(results)


def test_processes_starting_together_migrate_a_sqlite_catalog_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    results = _upgrade_in_processes(url, 3)
    assert results.count("applied") == 1 and results.count("current") == 2, results


def test_a_postgres_catalog_is_built_by_the_migrations_and_matches_the_tables(postgres_url):
    engine = db.create_catalog_engine(postgres_url)
    try:
        assert migrate.upgrade_catalog(engine) is True
        assert migrate.upgrade_catalog(engine) is False
        assert schema_differences(engine) == [], NEW_REVISION_HINT
        with engine.connect() as conn:  # JSON columns and aware datetimes round-trip on PostgreSQL
            conn.execute(text("SELECT 1"))
        with Session(engine) as session:
            session.add(Job(id="j1", type="variant", input_payload={"a": [1, 2]}))
            session.commit()
        with Session(engine) as session:
            job = session.get(Job, "j1")
            assert job.input_payload == {"a": [1, 2]} and job.created_at.tzinfo is not None
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_a_postgres_catalog_once(postgres_url):
    results = _upgrade_in_processes(postgres_url, 3)
    assert results.count("applied") == 1 and results.count("current") == 2, results


def test_the_queue_tables_in_a_shared_postgres_database_are_left_alone(postgres_url):
    """One database for catalog and queue: Huey's tables are not the catalog's to drop or compare."""
    huey = pytest.importorskip("huey")
    from jobs.queue import libpq_dsn

    queue = huey.PostgresHuey("novai-test", dsn=libpq_dsn(postgres_url))
    queue.storage.close()
    engine = db.create_catalog_engine(postgres_url)
    try:
        migrate.upgrade_catalog(engine)
        assert "huey_task" in inspect(engine).get_table_names()
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
