"""Variant jobs through the job boundary: failures stay per variant, cancel, retry, restart recovery."""

from __future__ import annotations

import pytest

from jobs import variants as variant_jobs
from jobs.queue import huey
from jobs.recovery import INTERRUPTED_MESSAGE, recover_interrupted_jobs
from jobs.runner import UserFacingError, retry_job, run_job
from media import batches, job_store, library, store


@pytest.fixture
def inline_queue():
    """Run tasks inline (Huey immediate mode) for the duration of a test."""
    huey.immediate = True
    yield huey
    huey.immediate = False


@pytest.fixture
def library_items(fresh_data_dir, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    broken = library.import_file(samples / "videos" / "liveportrait_s18.mp4", "video").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    return video, broken, audio


def test_one_failing_variant_never_loses_the_others(inline_queue, library_items):
    video, broken, audio = library_items
    store.abs_path(library.get_item("video", broken).file).unlink()  # the source vanished from disk
    created = variant_jobs.create_variant_batch([video, broken], [audio], [], 1, {"hook_duration_s": 1})
    status = batches.batch_status(created["batch_id"])
    assert (status["status"], status["done"], status["failed"]) == ("completed_with_errors", 1, 1)
    failed = next(r for r in batches.batch_results(created["batch_id"]) if r["status"] == "failed")
    assert failed["video_id"] == broken and failed["error"]
    job = job_store.get_job(created["job_ids"][1])
    assert job.status == "failed" and job.error_message == failed["error"]


def test_bad_options_create_nothing(inline_queue, library_items):
    video, _, _ = library_items
    with pytest.raises(UserFacingError, match="fit"):
        variant_jobs.create_variant_batch([video], [], [], 1, {"fit": "stretch"})
    assert batches.list_batches() == []
    assert [j for j in job_store.list_jobs() if j.type == "variant"] == []


def test_cancel_before_start_marks_variant_canceled(library_items):
    video, _, _ = library_items
    huey.immediate = False
    created = variant_jobs.create_variant_batch([video], [], [], 2, {})  # queued, no consumer running
    assert variant_jobs.cancel_batch(created["batch_id"]) == 2
    status = batches.batch_status(created["batch_id"])
    assert status["status"] == "canceled" and status["canceled"] == 2
    assert {job_store.get_job(j).status for j in created["job_ids"]} == {"canceled"}
    huey.flush()


def test_retry_runs_a_failed_job_again(inline_queue, library_items):
    video, _, _ = library_items
    created = variant_jobs.create_variant_batch([video], [], [], 1, {})
    job_id = created["job_ids"][0]
    with pytest.raises(UserFacingError, match="only a failed or canceled job"):
        retry_job(job_id)
    job_store.fail_job(job_id, "simulated")
    batches.update_variant(batches.batch_variants(created["batch_id"])[0].id, status="failed")
    retry_job(job_id)
    assert job_store.get_job(job_id).status == "completed"
    assert batches.batch_status(created["batch_id"])["status"] == "completed"


def test_job_boundary_records_errors_and_cancel(fresh_data_dir):
    job = job_store.create_job("demo")
    assert run_job(job.id, lambda: (_ for _ in ()).throw(FileNotFoundError("audio file is gone: a.wav"))) == "failed"
    assert job_store.get_job(job.id).error_message == "audio file is gone: a.wav"

    other = job_store.create_job("demo")

    def work():
        job_store.cancel_job(other.id)
        job_store.report_progress(other.id, 50, "halfway")

    assert run_job(other.id, work) == "canceled"
    assert job_store.get_job(other.id).status == "canceled"


def test_restart_recovery_requeues_renders_and_fails_unknown_jobs(fresh_data_dir, inline_queue, library_items):
    video, _, _ = library_items
    huey.immediate = False
    created = variant_jobs.create_variant_batch([video], [], [], 1, {})
    huey.flush()  # the queue lost its task, as after a crash
    render_job = created["job_ids"][0]
    job_store.start_job(render_job)  # left 'processing' by a killed process
    orphan = job_store.create_job("mystery")
    job_store.start_job(orphan.id)
    (store.tmp_dir() / "half-written.mp4").write_bytes(b"partial")
    part = store.media_root() / "variants" / created["batch_id"] / ".000_x.abc.part.mp4"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"partial")
    huey.immediate = True
    assert recover_interrupted_jobs() >= 2
    assert job_store.get_job(render_job).status == "completed"
    assert job_store.get_job(orphan.id).error_message == INTERRUPTED_MESSAGE
    assert not (store.tmp_dir() / "half-written.mp4").exists()
    assert not part.exists()


def test_periodic_clean_up_expires_batches_and_prunes_caches(inline_queue, library_items):
    import os
    import time

    from jobs.variant_tasks import expire_batches_task
    from media.db import session_scope
    from media.models import VariantBatch, utcnow

    video, _, _ = library_items
    created = variant_jobs.create_variant_batch([video], [], [], 1, {})
    with session_scope() as session:
        session.get(VariantBatch, created["batch_id"]).expires_at = utcnow()
    cache = store.media_root() / "cache" / video
    old = time.time() - 3 * 24 * 3600
    for path in cache.rglob("*"):
        os.utime(path, (old, old))
    assert expire_batches_task.call_local() == 1
    assert batches.batch_status(created["batch_id"])["status"] == "expired"
    assert not any(p.is_file() for p in (cache / "normalized").rglob("*"))


def test_hook_after_the_video_end_is_a_warning(inline_queue, library_items):
    from media import hooks as hook_store

    video, _, _ = library_items
    length = library.get_item("video", video).duration_s
    hook = hook_store.add_hooks("late hook", "")[0].id
    created = variant_jobs.create_variant_batch([video], [], [hook], 1,
                                                {"hook_start_s": length + 5, "hook_duration_s": 1})
    result = batches.batch_results(created["batch_id"])[0]
    assert result["warning"] and "no hook is shown" in result["warning"]
    early = variant_jobs.create_variant_batch([video], [], [hook], 1, {"hook_start_s": 0.5, "hook_duration_s": 1})
    assert batches.batch_results(early["batch_id"])[0]["warning"] is None


def test_a_normalisation_made_ahead_encodes_a_waiting_batchs_hook_windows(library_items):
    """An upload's copy queued ahead (``request_normalize``) that starts after a batch of the video was
    planned encodes that batch's hook windows in its own run (issue 15); the variants then re-encode
    nothing and the plain GOP under the windows is never made."""
    from jobs.variant_tasks import _normalize, cache_root, render_variant_task
    from media import hooks
    from media.normalize import cached_normalized

    video, _, audio = library_items
    hook_ids = [h.id for h in hooks.add_hooks("Wait for the ending\nDay 3 of learning to cook\nNobody says this")]
    huey.immediate = False
    created = variant_jobs.create_variant_batch([video], [audio], hook_ids, 3, {"hook_duration_s": 1})
    assert batches.waiting_variant(video, "blur") is not None and batches.waiting_variant(video, "crop") is None
    normalize_job = job_store.create_job("normalize", {"video_id": video, "fit": "blur"}, reference_id=video)
    run_job(normalize_job.id, lambda: _normalize(normalize_job.id, video, "blur"))
    source = store.abs_path(library.get_item("video", video).file)
    norm = cached_normalized(source, "blur", cache_root(video))
    assert norm is not None and norm.deferred == (0, 1)
    assert len(list((cache_root(video) / "hooks" / norm.key).glob("*.ts"))) == 3
    huey.flush()  # the queued render tasks, run here instead
    for job_id in created["job_ids"]:
        render_variant_task.call_local(job_id)
    status = batches.batch_status(created["batch_id"])
    assert status["done"] == 3, status
    assert not norm.segments[0].exists()
