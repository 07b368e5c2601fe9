"""NOVAI_DATABASE_URL: SQLite file by default (its PRAGMAs), PostgreSQL for a farm (no SQLite PRAGMAs),
and a clear start-up warning when the database server cannot be used."""

from __future__ import annotations

from sqlalchemy import text

from media import db
from media.settings import get_settings, reset_settings
from media.startup import data_folder_problems
from tests.serving import free_port


def test_the_default_catalog_is_the_sqlite_file_in_wal_mode(fresh_data_dir):
    assert get_settings().catalog_url == f"sqlite:///{fresh_data_dir / 'catalog.sqlite3'}"
    with db.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
    assert (fresh_data_dir / "catalog.sqlite3").exists()


def test_a_postgres_catalog_gets_a_postgres_engine_and_no_sqlite_file(fresh_data_dir, monkeypatch,
                                                                      postgres_url):
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    monkeypatch.setenv("NOVAI_DATABASE_URL", plain)  # the plain form works too: psycopg 3 is chosen
    reset_settings()
    db.reset_engine()
    engine = db.get_engine()
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 0
    assert not (fresh_data_dir / "catalog.sqlite3").exists()
    assert data_folder_problems() == []


def test_an_unreachable_database_server_is_said_at_start_without_its_password(fresh_data_dir, monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("NOVAI_DATABASE_URL", f"postgresql+psycopg://novai:s3cret-pw@127.0.0.1:{port}/novai")
    reset_settings()
    db.reset_engine()
    problems = data_folder_problems()
    assert len(problems) == 1, problems
    assert f"127.0.0.1:{port}/novai" in problems[0] and "NOVAI_DATABASE_URL" in problems[0]
    assert "s3cret-pw" not in problems[0]
    assert get_settings().fal_key == ""  # settings still load (saved keys unread, said in the log)


def test_the_settings_tab_and_repr_never_show_a_database_password(fresh_data_dir, monkeypatch):
    from studio.settings_tab import settings_rows

    monkeypatch.setenv("NOVAI_DATABASE_URL", "postgresql+psycopg://novai:s3cret-pw@db.farm:5432/novai")
    monkeypatch.setenv("NOVAI_QUEUE_URL", "redis://:s3cret-pw@redis.farm:6379/0")
    reset_settings()
    db.reset_engine()
    from media.settings import Settings

    settings = Settings()
    rows = {row[0]: row[1] for group in ("general", "output", "providers", "prices")
            for row in settings_rows(settings, group)}
    assert rows["database_url"] == "postgresql+psycopg://novai:***@db.farm:5432/novai"
    assert rows["queue_url"] == "redis://:***@redis.farm:6379/0"
    assert "s3cret" not in repr(settings) and "s3cret" not in str(rows)
