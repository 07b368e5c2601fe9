"""Job ownership on a farm (issue 13): heartbeats, the lease, the sweep's claim, the catalog work lock,
re-runs that replace their output, and moves into the media folder across filesystems."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from jobs import recovery, runner
from media import job_store, library, store
from media.db import session_scope
from media.lease import is_stale, now_utc
from media.models import Job, Video, WorkLock
from media.settings import reset_settings
from media.work_lock import LockTimeout, work_lock


@pytest.fixture
def short_lease(fresh_data_dir, monkeypatch):
    """A 1 s lease (heartbeat every 0.25 s)."""
    monkeypatch.setenv("NOVAI_JOB_LEASE_S", "1")
    reset_settings()
    yield 1.0
    reset_settings()


def _processing(worker: str | None, beat_age_s: float | None) -> Job:
    job = job_store.create_job("lease-test")
    heartbeat = None if beat_age_s is None else now_utc() - timedelta(seconds=beat_age_s)
    return job_store.update_job(job.id, status="processing", worker=worker, heartbeat_at=heartbeat)


def test_start_up_leaves_a_job_alive_elsewhere_and_takes_a_dead_one(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("NOVAI_JOB_LEASE_S", "60")
    reset_settings()
    alive = _processing("render-2:4242", 0.0)  # another machine, heartbeat just now
    dead = _processing("render-3:4343", 300.0)  # another machine, silent for 5 leases
    legacy = _processing(None, None)  # started by a studio before leases existed
    assert recovery.recover_interrupted_jobs(clean_shared=False) == 2
    assert job_store.get_job(alive.id).status == "processing"
    assert job_store.get_job(alive.id).worker == "render-2:4242"
    for job in (dead, legacy):  # no recovery handler for this type: failed with the reason
        row = job_store.get_job(job.id)
        assert (row.status, row.error_message) == ("failed", recovery.INTERRUPTED_MESSAGE)
        assert row.worker is None and row.heartbeat_at is None


def test_a_killed_process_of_this_machine_is_taken_back_at_once(short_lease):
    import socket
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    job = _processing(f"{socket.gethostname()}:{child.pid}", 0.0)  # fresh heartbeat, but its pid is gone
    assert recovery.sweep_leases() == [job.id]


def test_of_two_sweeps_at_once_exactly_one_claims_the_job(short_lease):
    job = _processing("render-9:1", 10.0)
    seen = job_store.get_job(job.id)
    assert job_store.claim_interrupted(seen, "first") is True
    assert job_store.claim_interrupted(seen, "second") is False
    assert job_store.get_job(job.id).message == "first"


def test_heartbeats_keep_a_long_job_alive_past_the_lease(short_lease):
    started = threading.Event()
    swept: list[list[str]] = []

    def work() -> dict:
        started.set()
        for _ in range(12):  # 3 s = 3 leases, with sweeps running meanwhile
            time.sleep(0.25)
            swept.append(recovery.sweep_leases())
        return {"done": True}

    job = job_store.create_job("lease-test")
    assert runner.run_job(job.id, work) == "completed"
    assert all(taken == [] for taken in swept)
    row = job_store.get_job(job.id)
    assert (row.status, row.output_payload, row.attempts) == ("completed", {"done": True}, 1)


def test_a_job_taken_over_by_another_worker_stops_and_writes_nothing(short_lease):
    job = job_store.create_job("lease-test")
    failures: list[str] = []

    def work() -> dict:
        job_store.update_job(job.id, worker="render-7:77")  # a sweep gave it to another worker
        time.sleep(1.0)  # several heartbeats: the first one finds the row no longer ours
        return {"done": True}

    assert runner.run_job(job.id, work, on_failure=failures.append) == "lost"
    row = job_store.get_job(job.id)
    assert (row.status, row.worker, row.output_payload) == ("processing", "render-7:77", {})
    assert failures == []


def test_is_stale_counts_from_the_last_heartbeat():
    now = now_utc()
    assert not is_stale(now - timedelta(seconds=59), now, 60)
    assert is_stale(now - timedelta(seconds=61), now, 60)
    assert is_stale(None, now, 60)


def test_work_lock_serialises_holders(short_lease):
    order: list[str] = []

    def hold(name: str, pause: float) -> None:
        with work_lock("normalize:v1:blur"):
            order.append(f"{name}+")
            time.sleep(pause)
            order.append(f"{name}-")

    first = threading.Thread(target=hold, args=("a", 1.5))  # longer than the lease: kept alive by beats
    first.start()
    time.sleep(0.3)
    second = threading.Thread(target=hold, args=("b", 0.0))
    second.start()
    first.join(10)
    second.join(10)
    assert order == ["a+", "a-", "b+", "b-"]
    with session_scope() as session:
        assert session.exec(select(WorkLock)).all() == []  # released


def test_a_dead_holders_lock_expires_and_a_live_one_does_not(short_lease):
    with session_scope() as session:
        session.add(WorkLock(key="dead", owner="gone:1:1", expires_at=now_utc() - timedelta(seconds=1)))
        session.add(WorkLock(key="live", owner="busy:2:2", expires_at=now_utc() + timedelta(hours=1)))
    with work_lock("dead", timeout_s=5) as owner, session_scope() as session:
        assert session.get(WorkLock, "dead").owner == owner
    with pytest.raises(LockTimeout, match="live"), work_lock("live", timeout_s=0.5):
        pass


def test_a_rerun_replaces_its_output_row_and_thumbnail(fresh_data_dir, samples):
    src = samples / "videos" / "retalking_face_2.mp4"
    dest = store.media_root() / "variants" / "b1" / "000_clip.mp4"
    rows = []
    for _ in range(2):
        with store.work_dir("t-") as work:
            made = work / "out.mp4"
            made.write_bytes(src.read_bytes())
            store.commit_file(made, dest)
        rows.append(library.register_file(dest, "video", dest.name, type="variant", row_id="f" * 32))
    with session_scope() as session:
        videos = session.exec(select(Video)).all()
    assert [v.id for v in videos] == ["f" * 32]
    assert sorted(p.name for p in (store.media_root() / "thumbnails").iterdir()) == [f"{'f' * 32}.jpg"]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["000_clip.mp4"]


def test_commit_file_across_filesystems_is_atomic_and_leaves_nothing(fresh_data_dir):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == store.media_root().stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) to move from")
    dest = store.media_root() / "variants" / "b2" / "x.mp4"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old")
    src = Path(shm / f"novai-test-{time.time_ns()}.mp4")
    src.write_bytes(b"new" * 1000)
    store.commit_file(src, dest)
    assert dest.read_bytes() == b"new" * 1000
    assert not src.exists()
    assert [p.name for p in dest.parent.iterdir()] == ["x.mp4"]
