"""Animate (image to video) and Lip sync on fal (issue 14): real fal-client against the loopback fake of
fal's queue contract; success, 401, 429 then success, failed result, malformed result + re-attach,
restart re-attach, cancel, timeout, spend limit; costs in cost_records."""

from __future__ import annotations

import pytest
from PIL import Image as PILImage

from jobs import animate_tasks, fal, lipsync_tasks
from jobs.providers import get_provider, providers
from jobs.queue import huey
from jobs.recovery import recover_interrupted_jobs
from jobs.runner import retry_job
from media import costs, job_store, library, store
from media.errors import InvalidInput
from media.settings import reset_settings
from tests.fakes.fal_server import FakeFal, cancel_while_in_progress

LUCY = "decart/lucy-14b/image-to-video"
KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"
LIPSYNC = "fal-ai/sync-lipsync/v2"


@pytest.fixture
def studio(fresh_data_dir, fal_fake, samples):
    huey.immediate = True
    image = library.import_file(samples / "photos" / "obama.jpg", "image")
    yield fal_fake, image
    huey.immediate = False


def _result(fake: FakeFal, samples, endpoint: str, **extra) -> None:
    url = fake.add_file("out.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    fake.script(endpoint, queue_polls=1, progress_polls=2, result={"video": {"url": url}}, **extra)


def _costs(job_id: str) -> list[int]:
    return [r.amount_cents for r in costs.cost_records(1) if r.job_id == job_id]


def test_animate_lucy_makes_a_generated_9x16_video_with_its_parent_image(studio, samples):
    fake, image = studio
    _result(fake, samples, LUCY)
    assert animate_tasks.estimate_animation("lucy14b")["estimate_cents"] == 40  # $0.08/s x 5 s
    created = animate_tasks.create_animation(image.id, "  he smiles  and waves ", "lucy14b")
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    (sub,) = fake.submissions.values()
    assert sub.endpoint == LUCY
    assert {k: v for k, v in sub.arguments.items() if k != "image_url"} == {
        "prompt": "he smiles and waves", "aspect_ratio": "9:16", "sync_mode": False}
    uploaded = fake.file_at(sub.arguments["image_url"])
    from io import BytesIO
    width, height = PILImage.open(BytesIO(uploaded.data)).size
    assert abs(width / height - 9 / 16) < 0.01
    video = library.get_item("video", job.output_payload["result_ids"][0])
    assert (video.type, video.face_image_id) == ("generated", image.id)
    assert store.abs_path(video.file).is_file() and video.duration_s > 4
    assert _costs(job.id) == [40] and job_store.get_job(job.id).cost_cents == 40


def test_kling_duration_and_estimates_refuse_bad_options(studio, samples):
    fake, image = studio
    assert animate_tasks.estimate_animation("kling21", {"duration_s": 10})["estimate_cents"] == 56
    with pytest.raises(InvalidInput, match="duration_s 7 is not one of 5, 10"):
        animate_tasks.create_animation(image.id, "walks", "kling21", {"duration_s": 7})
    with pytest.raises(InvalidInput, match="unknown animate provider 'sora'; use one of lucy14b, kling21"):
        animate_tasks.create_animation(image.id, "walks", "sora")
    with pytest.raises(InvalidInput, match="prompt"):
        animate_tasks.create_animation(image.id, "   ", "kling21")
    with pytest.raises(InvalidInput, match="unknown option"):
        animate_tasks.create_animation(image.id, "walks", "kling21", {"fps": 30})
    _result(fake, samples, KLING)
    created = animate_tasks.create_animation(image.id, "walks", "kling21", {"duration_s": "10"})
    assert job_store.get_job(created["job_id"]).status == "completed"
    (sub,) = fake.submissions.values()
    assert sub.arguments["duration"] == "10" and "aspect_ratio" not in sub.arguments


def test_wrong_key_is_a_clear_401(studio, samples, monkeypatch):
    fake, image = studio
    monkeypatch.setenv("FAL_KEY", "not-the-key")
    reset_settings()
    _result(fake, samples, LUCY)
    created = animate_tasks.create_animation(image.id, "smiles")
    job = job_store.get_job(created["job_id"])
    assert job.status == "failed" and "rejected the API key" in job.error_message
    assert _costs(job.id) == []


def test_429_twice_then_success(studio, samples):
    fake, image = studio
    _result(fake, samples, LUCY)
    fake.fail("submit", 429, times=2)
    created = animate_tasks.create_animation(image.id, "smiles")
    assert job_store.get_job(created["job_id"]).status == "completed"
    assert fake.kinds().count("submit") == 3


def test_failed_result_fails_the_job_and_forgets_the_request(studio, samples):
    fake, image = studio
    _result(fake, samples, LUCY, error="NSFW content detected", error_type="content_policy")
    created = animate_tasks.create_animation(image.id, "smiles")
    job = job_store.get_job(created["job_id"])
    assert job.status == "failed" and "NSFW content detected" in job.error_message
    assert job.external_request_id is None and _costs(job.id) == []


def test_malformed_result_then_retry_reattaches_without_paying_twice(studio, samples):
    fake, image = studio
    fake.script(LUCY, result={"videos": []})
    created = animate_tasks.create_animation(image.id, "smiles")
    job = job_store.get_job(created["job_id"])
    assert job.status == "failed" and "malformed result: no video.url" in job.error_message
    assert job.external_request_id  # kept: the request was paid for
    (sub,) = fake.submissions.values()
    url = fake.add_file("out.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    sub.script.result = {"video": {"url": url}}
    retry_job(job.id)
    assert job_store.get_job(job.id).status == "completed"
    assert len(fake.submissions) == 1


def test_restart_reattaches_to_the_stored_request(studio, samples):
    fake, image = studio
    _result(fake, samples, LUCY)
    huey.immediate = False
    created = animate_tasks.create_animation(image.id, "smiles")
    handle = fal.submit(fal.get_client(), LUCY, {"prompt": "smiles", "image_url": "x"})  # submitted before
    job_store.update_job(created["job_id"], status="processing", external_request_id=handle.request_id)
    huey.flush()
    huey.immediate = True
    assert recover_interrupted_jobs() >= 1
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    assert len(fake.submissions) == 1 and fake.uploaded() == []  # nothing submitted or uploaded again


def test_cancel_stops_the_request_on_fal(studio, samples):
    fake, image = studio
    _result(fake, samples, LUCY, hang=True)
    huey.immediate = False
    created = animate_tasks.create_animation(image.id, "smiles")
    huey.flush()
    sub = cancel_while_in_progress(fake, animate_tasks.animate_task, created["job_id"])
    assert sub.canceled and job_store.get_job(created["job_id"]).status == "canceled"
    assert _costs(created["job_id"]) == []


def test_timeout_cancels_on_fal_and_fails(studio, samples, monkeypatch):
    fake, image = studio
    monkeypatch.setenv("NOVAI_FAL_TIMEOUT_S", "0.3")
    reset_settings()
    _result(fake, samples, LUCY, hang=True)
    created = animate_tasks.create_animation(image.id, "smiles")
    job = job_store.get_job(created["job_id"])
    assert job.status == "failed" and "did not finish within 0.3 s" in job.error_message
    (sub,) = fake.submissions.values()
    assert sub.canceled


def test_over_the_daily_limit_nothing_is_queued(studio):
    _, image = studio
    costs.set_daily_limit(30)
    try:
        with pytest.raises(costs.SpendLimitExceeded):
            animate_tasks.create_animation(image.id, "smiles")  # 40 cents > 30
    finally:
        costs.set_daily_limit(None)
    assert [j for j in job_store.list_jobs() if j.type == "animate"] == []


def test_lipsync_video_and_audio_give_a_lipsync_library_video(studio, samples):
    fake, _ = studio
    video = library.get_item("video", library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id)
    audio = library.get_item("audio", library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id)
    estimate = lipsync_tasks.estimate_lipsync(video.id, audio.id)
    assert estimate["billed_s"] == pytest.approx(min(video.duration_s, audio.duration_s), abs=0.01)
    _result(fake, samples, LIPSYNC)
    created = lipsync_tasks.create_lipsync(video.id, audio.id)
    assert created["estimate_cents"] == estimate["estimate_cents"]
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    (sub,) = fake.submissions.values()
    assert (sub.arguments["model"], sub.arguments["sync_mode"]) == ("lipsync-2", "cut_off")
    assert fake.file_at(sub.arguments["audio_url"]).data == (samples / "audio" / "vctk_p240_00000.mp3").read_bytes()
    row = library.get_item("video", job.output_payload["result_ids"][0])
    assert (row.type, row.parent_video_id) == ("lipsync", video.id)
    assert _costs(job.id) == [get_provider("lipsync", "sync_lipsync").price.cents(row.duration_s)]


def test_registry_lists_the_new_tools():
    assert [p.id for p in providers("animate")] == ["lucy14b", "kling21"]
    assert [p.id for p in providers("lipsync")] == ["sync_lipsync"]
    with pytest.raises(InvalidInput, match="unknown tool"):
        providers("upscale")


def test_animate_a_character_diagram_links_the_video_to_it(studio, samples):
    from jobs import character_tasks

    fake, _ = studio
    diagram = character_tasks.import_character(str(samples / "photos" / "obama.jpg"), "Barack sheet")
    assert diagram["image_id"]
    _result(fake, samples, KLING)
    created = animate_tasks.create_animation(diagram["image_id"], "turns to the camera", "kling21",
                                             {"duration_s": 10})
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    video = library.get_item("video", job.output_payload["result_ids"][0])
    assert (video.type, video.face_image_id, video.character_diagram_id) == (
        "generated", diagram["image_id"], diagram["id"])
    assert _costs(job.id) == [56]  # Kling 2.1: 28 cents for 5 s + 5.6 cents x 5 s
