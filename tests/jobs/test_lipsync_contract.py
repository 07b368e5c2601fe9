"""Lip sync on fal against the loopback fake of fal's queue contract, each case the Animate tests cover:
401, 429 then success, a failed result, a malformed result (kept, retried without paying twice), restart
re-attach, cancel, timeout and the daily limit; costs in cost_records at the registry's price."""

from __future__ import annotations

import pytest

from jobs import fal, lipsync_tasks
from jobs.providers import get_provider
from jobs.queue import huey
from jobs.recovery import recover_interrupted_jobs
from jobs.runner import retry_job
from media import costs, job_store, library
from media.settings import reset_settings
from tests.fakes.fal_server import cancel_while_in_progress

LIPSYNC = "fal-ai/sync-lipsync/v2"


@pytest.fixture
def pair(fresh_data_dir, fal_fake, samples):
    huey.immediate = True
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    yield fal_fake, video, audio
    huey.immediate = False


def _result(fake, samples, **extra) -> None:
    url = fake.add_file("synced.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    fake.script(LIPSYNC, queue_polls=1, progress_polls=1, result={"video": {"url": url}}, **extra)


def _costs(job_id: str) -> list[int]:
    return [r.amount_cents for r in costs.cost_records(1) if r.job_id == job_id]


def test_401_is_a_clear_failure_and_costs_nothing(pair, samples, monkeypatch):
    fake, video, audio = pair
    monkeypatch.setenv("FAL_KEY", "not-the-key")
    reset_settings()
    _result(fake, samples)
    job = job_store.get_job(lipsync_tasks.create_lipsync(video, audio)["job_id"])
    assert job.status == "failed" and "rejected the API key" in job.error_message
    assert _costs(job.id) == []


def test_429_twice_then_success_records_the_registry_price(pair, samples):
    fake, video, audio = pair
    _result(fake, samples)
    fake.fail("submit", 429, times=2)
    job = job_store.get_job(lipsync_tasks.create_lipsync(video, audio)["job_id"])
    assert job.status == "completed", job.error_message
    assert fake.kinds().count("submit") == 3
    row = library.get_item("video", job.output_payload["result_ids"][0])
    assert _costs(job.id) == [get_provider("lipsync", "sync_lipsync").current_price().cents(row.duration_s)]


def test_failed_result_fails_and_forgets_the_request(pair, samples):
    fake, video, audio = pair
    _result(fake, samples, error="no face detected in the video", error_type="invalid_input")
    job = job_store.get_job(lipsync_tasks.create_lipsync(video, audio)["job_id"])
    assert job.status == "failed" and "no face detected in the video" in job.error_message
    assert job.external_request_id is None and _costs(job.id) == []


def test_malformed_result_then_retry_reattaches_without_paying_twice(pair, samples):
    fake, video, audio = pair
    fake.script(LIPSYNC, result={"output": "done"})
    job = job_store.get_job(lipsync_tasks.create_lipsync(video, audio)["job_id"])
    assert job.status == "failed" and "malformed result" in job.error_message
    assert job.external_request_id
    (sub,) = fake.submissions.values()
    url = fake.add_file("synced.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    sub.script.result = {"video": {"url": url}}
    retry_job(job.id)
    assert job_store.get_job(job.id).status == "completed"
    assert len(fake.submissions) == 1 and len(_costs(job.id)) == 1


def test_restart_reattaches_to_the_stored_request(pair, samples):
    fake, video, audio = pair
    _result(fake, samples)
    huey.immediate = False
    created = lipsync_tasks.create_lipsync(video, audio)
    handle = fal.submit(fal.get_client(), LIPSYNC, {"video_url": "x", "audio_url": "y"})  # sent before
    job_store.update_job(created["job_id"], status="processing", external_request_id=handle.request_id)
    huey.flush()
    huey.immediate = True
    assert recover_interrupted_jobs() >= 1
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    assert len(fake.submissions) == 1 and fake.uploaded() == []


def test_cancel_stops_the_request_on_fal(pair, samples):
    fake, video, audio = pair
    _result(fake, samples, hang=True)
    huey.immediate = False
    created = lipsync_tasks.create_lipsync(video, audio)
    huey.flush()
    sub = cancel_while_in_progress(fake, lipsync_tasks.lipsync_task, created["job_id"])
    assert sub.canceled and job_store.get_job(created["job_id"]).status == "canceled"
    assert _costs(created["job_id"]) == []


def test_timeout_cancels_on_fal_and_fails(pair, samples, monkeypatch):
    fake, video, audio = pair
    monkeypatch.setenv("NOVAI_FAL_TIMEOUT_S", "0.3")
    reset_settings()
    _result(fake, samples, hang=True)
    job = job_store.get_job(lipsync_tasks.create_lipsync(video, audio)["job_id"])
    assert job.status == "failed" and "did not finish within 0.3 s" in job.error_message
    (sub,) = fake.submissions.values()
    assert sub.canceled


def test_over_the_daily_limit_nothing_is_queued(pair):
    fake, video, audio = pair
    estimate = lipsync_tasks.estimate_lipsync(video, audio)["estimate_cents"]
    costs.set_daily_limit(estimate - 1)
    try:
        with pytest.raises(costs.SpendLimitExceeded):
            lipsync_tasks.create_lipsync(video, audio)
    finally:
        costs.set_daily_limit(None)
    assert [j for j in job_store.list_jobs() if j.type == "lipsync"] == [] and fake.submissions == {}
