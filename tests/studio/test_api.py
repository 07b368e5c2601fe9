"""The named API endpoints through gradio_client, on a launched app with a real in-process consumer."""

from __future__ import annotations

import json
import time
import zipfile

import pytest
from gradio_client import handle_file

from jobs.consumer import start_consumer, stop_consumer
from media.probe import probe
from studio.app import build_app
from tests.serving import served


@pytest.fixture(scope="module")
def client():
    consumer = start_consumer(workers=2, periodic=False)
    try:
        with served(build_app()) as studio:
            yield studio
    finally:
        stop_consumer(consumer, graceful=False)


def _wait(client, batch_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.predict(batch_id, api_name="/batch_status")
        if status["status"] not in ("queued", "running"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"batch did not finish: {status}")


def test_upload_refuses_bad_files_and_stores_good_ones(client, samples, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video")
    result = client.predict([handle_file(str(samples / "videos" / "retalking_face_2.mp4")), handle_file(str(fake))],
                            "video", "api-test", api_name="/upload_media")
    assert len(result) == 2
    assert result[0]["id"] and not result[0]["error"]
    assert result[1]["id"] is None and "notes.mp4" in result[1]["error"]
    listed = client.predict("video", "api-test", api_name="/list_media")
    assert [item["id"] for item in listed] == [result[0]["id"]]
    assert listed[0]["width"] == 844 and listed[0]["has_audio"] is True


def test_batch_end_to_end_through_the_api(client, samples):
    video = client.predict([handle_file(str(samples / "videos" / "retalking_face_2.mp4"))], "video", "",
                           api_name="/upload_media")[0]["id"]
    audios = client.predict([handle_file(str(samples / "audio" / "vctk_p240_00000.mp3")),
                             handle_file(str(samples / "audio" / "sms_sax-phrase.wav"))], "audio", "",
                            api_name="/upload_media")
    hooks = client.predict("First hook: 100% real\nSecond hook 🎬", "api", api_name="/add_hooks")
    assert [h["text"] for h in hooks] == ["First hook: 100% real", "Second hook 🎬"]
    created = client.predict([video], [a["id"] for a in audios], [h["id"] for h in hooks], 2,
                             {"hook_duration_s": 1.0}, api_name="/create_variant_batch")
    assert created["total"] == 2
    status = _wait(client, created["batch_id"])
    assert status["status"] == "completed" and status["done"] == 2
    results = client.predict(created["batch_id"], api_name="/batch_results")
    assert [r["index"] for r in results] == [0, 1]
    assert [r["audio_id"] for r in results] == [a["id"] for a in audios]
    assert [r["hook_id"] for r in results] == [h["id"] for h in hooks]
    zip_path = client.predict(created["batch_id"], api_name="/batch_zip")
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert names == {r["file_name"] for r in results} | {"manifest.json"}
    assert manifest["files"][results[1]["file_name"]]["hook"]["text"] == "Second hook 🎬"
    downloaded = client.predict(results[0]["output_video_id"], api_name="/media_file")
    info = probe(downloaded)
    assert (info.width, info.height) == (1080, 1920) and info.has_audio


def test_bad_batch_input_is_an_error_message(client):
    with pytest.raises(Exception, match="select at least one video"):
        client.predict([], [], [], 1, {}, api_name="/create_variant_batch")
    with pytest.raises(Exception, match="fit"):
        client.predict(["nope"], [], [], 1, {"fit": "stretch"}, api_name="/create_variant_batch")


def test_job_status_reports_results(client, samples):
    video = client.predict([handle_file(str(samples / "videos" / "retalking_face_2.mp4"))], "video", "",
                           api_name="/upload_media")[0]["id"]
    created = client.predict([video], [], [], 1, {}, api_name="/create_variant_batch")
    _wait(client, created["batch_id"])
    job = client.predict(created["job_ids"][0], api_name="/job_status")
    assert job["status"] == "completed" and job["progress"] == 100 and len(job["result_ids"]) == 1


def test_server_files_cannot_be_imported_through_the_api(client):
    with pytest.raises(Exception, match="not uploaded through the studio"):
        client.predict(["/etc/hostname"], "image", "", api_name="/upload_media")
