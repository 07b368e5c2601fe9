"""Animate and Lip sync end to end through the named API (gradio_client) against the loopback fal fake."""

from __future__ import annotations

import time

import pytest

from jobs.queue import huey
from media import library
from studio.app import build_app
from tests.serving import served


@pytest.fixture
def client(fresh_data_dir, fal_fake, samples):
    huey.immediate = True
    try:
        with served(build_app()) as studio:
            yield studio
    finally:
        huey.immediate = False


def _finished(client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while (status := client.predict(job_id, api_name="/job_status"))["status"] not in (
            "completed", "failed", "canceled") and time.monotonic() < deadline:
        time.sleep(0.2)
    return status


def test_animate_then_lipsync_through_the_api(client, fal_fake, samples):
    image = library.import_file(samples / "photos" / "obama.jpg", "image").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    url = fal_fake.add_file("out.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    for endpoint in ("decart/lucy-14b/image-to-video", "fal-ai/sync-lipsync/v2"):
        fal_fake.script(endpoint, result={"video": {"url": url}})

    assert client.predict("kling21", {"duration_s": 10}, api_name="/estimate_animation")["estimate_cents"] == 56
    with pytest.raises(Exception, match="duration_s 10 is not one of 5"):
        client.predict(image, "smiles", "lucy14b", {"duration_s": 10}, api_name="/create_animation")
    created = client.predict(image, "he smiles", "lucy14b", None, api_name="/create_animation")
    status = _finished(client, created["job_id"])
    assert status["status"] == "completed", status
    generated = library.get_item("video", status["result_ids"][0])
    assert generated.type == "generated" and generated.face_image_id == image

    estimate = client.predict(generated.id, audio, "sync_lipsync", api_name="/estimate_lipsync")
    synced = client.predict(generated.id, audio, "sync_lipsync", api_name="/create_lipsync")
    assert synced["estimate_cents"] == estimate["estimate_cents"] > 0
    status = _finished(client, synced["job_id"])
    assert status["status"] == "completed", status
    row = library.get_item("video", status["result_ids"][0])
    assert (row.type, row.parent_video_id) == ("lipsync", generated.id)
    with pytest.raises(Exception, match="no library audio with id nope"):
        client.predict(generated.id, "nope", "sync_lipsync", api_name="/create_lipsync")
