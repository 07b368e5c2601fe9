"""The daily limit on a PostgreSQL catalog: set once (it lives in the catalog), held by reservations that
processes racing at the same instant cannot both pass (``SELECT ... FOR UPDATE`` of the spend lock)."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlmodel import select

from media import costs, library
from media.db import reset_engine, session_scope
from media.models import Job
from media.settings import reset_settings


@pytest.mark.slow
def test_processes_on_a_postgres_catalog_cannot_pass_the_limit_together(fresh_data_dir, samples,
                                                                          postgres_url, monkeypatch):
    from tests.procs import submit_gemini_character

    monkeypatch.setenv("NOVAI_DATABASE_URL", postgres_url)
    reset_settings()
    reset_engine()
    outcome = library.import_file(samples / "photos" / "obama.jpg", "image")
    assert outcome.error is None, outcome.error
    costs.set_daily_limit(10)  # saved in the catalog: the other processes read it there
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=submit_gemini_character, args=(str(fresh_data_dir), outcome.id, barrier, results),
                         kwargs={"NOVAI_DATABASE_URL": postgres_url}) for _ in range(3)]
    for proc in procs:
        proc.start()
    answers = sorted(results.get(timeout=180) for _ in procs)
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert [a.split()[0] for a in answers] == ["accepted", "refused", "refused"], answers
    assert all("today's spend is $0.07 (7¢)" in a for a in answers[1:])
    with session_scope() as session:
        assert len(session.exec(select(Job)).all()) == 1
    reset_engine()
