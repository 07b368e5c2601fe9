"""A key saved in the UI process is used by a worker process that was already running: the key lives in
the catalog and each task reads the settings afresh. Three set-ups: one machine (SQLite catalog and
queue, shared data folder); a farm on PostgreSQL (catalog and queue, separate data folders); PostgreSQL
catalog with a Redis queue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from media import keys
from media.db import reset_engine
from media.settings import reset_settings
from tests.fakes.fal_server import FakeFal
from tests.farm.queue_probe import register

ROOT = Path(__file__).resolve().parents[2]
WORKER = "from tests.farm.queue_probe import run_worker; run_worker()"


@pytest.fixture(params=["sqlite", "postgres", "postgres+redis"])
def farm_settings(request, tmp_path) -> dict[str, str]:
    """``NOVAI_*`` settings of the UI process for each set-up; ``worker_data_dir`` for the worker."""
    ui_dir = tmp_path / "ui-data"
    if request.param == "sqlite":
        return {"NOVAI_DATA_DIR": str(ui_dir), "worker_data_dir": str(ui_dir)}
    url = request.getfixturevalue("postgres_url")
    queue = request.getfixturevalue("redis_url") if request.param == "postgres+redis" else url
    return {"NOVAI_DATA_DIR": str(ui_dir), "worker_data_dir": str(tmp_path / "worker-data"),
            "NOVAI_DATABASE_URL": url, "NOVAI_QUEUE_URL": queue}


def test_a_key_saved_in_the_ui_reaches_a_running_worker_without_a_restart(farm_settings, monkeypatch):
    fake = FakeFal().start()
    worker_dir = farm_settings.pop("worker_data_dir")
    for name, value in {**farm_settings, "NOVAI_FAL_BASE_URL": fake.base_url}.items():
        monkeypatch.setenv(name, value)
    for name in ("FAL_KEY", "NOVAI_FAL_KEY", "NOVAI_QUEUE_IMMEDIATE"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    reset_engine()
    from jobs.queue import create_huey

    queue = create_huey()
    probe = register(queue)
    env = {**os.environ, "NOVAI_DATA_DIR": worker_dir}
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        before = probe().get(blocking=True, timeout=90)
        assert before is not None and not before["ok"] and "no fal key" in before["message"], before

        keys.save_key("fal", fake.key)  # in the UI process, while the worker runs

        after = probe().get(blocking=True, timeout=90)
        assert after["ok"], after
        assert after["pid"] == before["pid"] == worker.pid  # the same worker, not restarted
        assert ("token", "POST") in {(kind, method) for kind, method, _path in fake.calls}
    finally:
        worker.terminate()
        try:
            _out, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _out, err = worker.communicate()
        fake.stop()
        queue.storage.close()
        reset_engine()
        reset_settings()
    assert worker.returncode is not None, err
