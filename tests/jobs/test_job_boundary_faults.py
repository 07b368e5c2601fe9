"""The job boundary always ends a job, on a full disk and on a read-only catalog (issue 10).

Real faults (tests/faults.py): a 20 MiB tmpfs filled to the last byte, a catalog file mounted read-only,
a real child process. On today's main the runner's ``fail_job`` raised inside its own error handler, the
exception escaped to Huey and the job, its variant and its batch stayed active forever.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from jobs import runner
from media import batches, job_store
from media.assignment import Combo
from media.db import CatalogUnavailable, reset_engine, session_scope
from media.models import Video
from media.settings import reset_settings
from tests.faults import fill_disk, read_only, small_disk

ROOT = Path(__file__).resolve().parent.parent.parent
CHILD = "import sys; from tests.procs import run_failing_variant_job as r; r(sys.argv[1], sys.argv[2])"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setattr(runner, "FINAL_WRITE_WAIT_S", (0.01, 0.05))
    yield
    runner._PENDING.clear()


@pytest.fixture
def tiny_data_dir(tmp_path, monkeypatch):
    """A data folder on a real 20 MiB disk."""
    with small_disk(tmp_path / "disk") as disk:
        monkeypatch.setenv("NOVAI_DATA_DIR", str(disk / "data"))
        reset_settings()
        reset_engine()
        yield disk / "data"
        reset_engine()
        reset_settings()


def _variant_job() -> tuple[str, str, str]:
    """A one-variant batch whose variant has a queued ``variant`` job: (job_id, variant_id, batch_id)."""
    video = Video(name="clip.mp4", file="videos/clip.mp4")
    with session_scope() as session:
        session.add(video)
    batch = batches.create_batch([Combo(0, video.id, None, None)], {})
    [variant] = batches.batch_variants(batch.id)
    job = job_store.create_job("variant", {"variant_id": variant.id}, reference_id=variant.id)
    batches.update_variant(variant.id, job_id=job.id, status="queued")
    return job.id, variant.id, batch.id


def test_full_disk_never_leaves_the_job_variant_or_batch_running(tiny_data_dir):
    job_id, variant_id, batch_id = _variant_job()
    filler: list[Path] = []

    def work() -> dict:
        batches.update_variant(variant_id, status="processing")
        job_store.report_progress(job_id, 10, "rendering")
        filler.append(fill_disk(tiny_data_dir.parent))
        job_store.report_progress(job_id, 50, "still rendering " + "x" * 20000)  # refused, must not raise
        (tiny_data_dir / "media" / "variant.mp4").write_bytes(b"\0" * (1 << 20))  # ENOSPC, for real
        return {}

    status = runner.run_job(job_id, work, on_failure=lambda message: batches.update_variant(
        variant_id, status="failed", error=message))  # must not raise (it did on main)
    assert status == "failed"
    assert job_id in runner.pending_outcomes()  # the catalog refused the final write: kept
    assert job_store.get_job(job_id).status == "processing"
    filler[0].unlink()  # space comes back; the periodic sweep ends the job with its reason
    assert runner.sweep_outcomes() == 1
    job = job_store.get_job(job_id)
    assert job.status == "failed"
    assert job.error_message == "No space left on device (is the disk full?)"
    assert batches.get_variant(variant_id).status == "failed"
    assert batches.get_batch(batch_id).status == "failed"
    assert runner.pending_outcomes() == []


def test_a_refused_progress_write_does_not_stop_the_work_and_the_result_is_kept(fresh_data_dir):
    job_id, _, _ = _variant_job()
    faults = ExitStack()

    def work() -> dict:
        faults.enter_context(read_only(fresh_data_dir / "catalog.sqlite3"))
        reset_engine()  # new connections see the read-only file
        job_store.report_progress(job_id, 40, "rendering")  # refused: logged, not raised (raised on main)
        return {"result_ids": ["v1"]}

    try:
        assert runner.run_job(job_id, work) == "completed"
        assert runner.pending_outcomes() == [job_id]
    finally:
        faults.close()
    reset_engine()
    assert job_store.get_job(job_id).status == "processing"
    assert runner.sweep_outcomes() == 1
    job = job_store.get_job(job_id)
    assert (job.status, job.output_payload) == ("completed", {"result_ids": ["v1"]})


def test_read_only_catalog_keeps_the_outcome_and_the_next_start_ends_the_job(fresh_data_dir):
    from jobs.recovery import recover_interrupted_jobs

    job_id, variant_id, batch_id = _variant_job()
    reset_engine()
    with read_only(fresh_data_dir / "catalog.sqlite3"):
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(fresh_data_dir), job_id], check=False, cwd=ROOT,
            capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-3000:]  # nothing escaped from the job boundary
    assert f"status=failed pending={job_id}" in child.stdout
    assert (fresh_data_dir / "outcomes" / f"{job_id}.json").is_file()
    assert job_store.get_job(job_id).status == "pending"  # the child could write nothing
    recover_interrupted_jobs()  # the next start
    job = job_store.get_job(job_id)
    assert job.status == "failed"
    assert job.error_message.startswith("the catalog is read-only, so nothing can be saved")
    assert batches.get_variant(variant_id).status == "failed"
    assert batches.get_batch(batch_id).status == "failed"
    assert not (fresh_data_dir / "outcomes" / f"{job_id}.json").exists()


def test_read_only_catalog_gives_readable_errors(fresh_data_dir, samples):
    from media import costs, library
    from media.hooks import add_hooks

    library.import_file(samples / "photos" / "obama.jpg", "image")  # the catalog exists
    reset_engine()
    with read_only(fresh_data_dir / "catalog.sqlite3"):
        outcome = library.import_file(samples / "photos" / "astronaut.png", "image")
        assert outcome.error and outcome.error.startswith("could not store astronaut.png: the catalog is "
                                                          "read-only")
        assert str(fresh_data_dir) not in outcome.error
        with pytest.raises(CatalogUnavailable, match="the catalog is read-only"):
            add_hooks("a hook")
        with pytest.raises(CatalogUnavailable, match="the catalog is read-only"):
            costs.reserve_spend("character", 7)
        reset_engine()
    assert len(library.list_items("image")) == 1  # nothing half-stored
    assert not any((fresh_data_dir / "media" / "images").glob("*astronaut*"))


def test_start_up_warns_about_a_read_only_catalog_and_a_full_disk(tiny_data_dir, capsys):
    import launch

    job_store.create_job("variant")  # the catalog exists
    assert launch.warn_about_data_folder()  # a 20 MiB disk is below the 500 MiB free-space minimum
    assert "MiB free on the disk of the data folder" in capsys.readouterr().err
    reset_engine()
    with read_only(tiny_data_dir / "catalog.sqlite3"):
        problems = launch.warn_about_data_folder()
    assert any("is not writable (attempt to write a readonly database)" in p for p in problems)
    assert "WARNING: the catalog" in capsys.readouterr().err


def test_the_sweep_is_a_periodic_huey_task():
    from huey.api import PeriodicTask

    from jobs.recovery import sweep_outcomes_task

    assert isinstance(sweep_outcomes_task.task_class(), PeriodicTask)


def test_a_job_the_full_disk_refuses_to_queue_is_failed_not_left_pending(tiny_data_dir):
    from jobs.queue import create_huey

    queue = create_huey()  # the queue file on the tiny disk

    @queue.task()
    def nothing(job_id: str) -> None:
        return None

    job = job_store.create_job("variant")
    filler = fill_disk(tiny_data_dir.parent)
    with pytest.raises(runner.QueueUnavailable, match=r"the job queue could not take this job \(.*full"):
        runner.submit(job.id, nothing)  # on main: a raw OperationalError, and the row stayed pending
    filler.unlink()
    runner.sweep_outcomes()  # the periodic sweep, once there is space again
    row = job_store.get_job(job.id)
    assert row.status == "failed" and row.error_message.startswith("the job queue could not take this job")
