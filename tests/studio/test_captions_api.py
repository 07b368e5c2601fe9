"""Issue 11 through gradio_client on a launched app with a real consumer: transcribe, update_transcript,
synthesize_voice, a captioned batch (SRT beside each MP4 in the ZIP, listed in manifest.json) and a
voice-over batch from hooks with music ducked under it."""

from __future__ import annotations

import itertools
import json
import time
import zipfile

import pytest
from gradio_client import handle_file

from jobs.consumer import start_consumer, stop_consumer
from media import tts
from media.probe import probe
from studio.app import build_app
from tests.serving import served

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    consumer = start_consumer(workers=2, periodic=False)
    try:
        with served(build_app()) as studio:
            yield studio
    finally:
        stop_consumer(consumer, graceful=False)


def _wait(client, batch_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.predict(batch_id, api_name="/batch_status")
        if status["status"] not in ("queued", "running"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"batch did not finish: {status}")


def _upload(client, path, kind):
    return client.predict([handle_file(str(path))], kind, "", api_name="/upload_media")[0]["id"]


def test_transcribe_and_correct_through_the_api(client, samples):
    video = _upload(client, samples / "videos" / "retalking_face_2.mp4", "video")
    result = client.predict(video, api_name="/transcribe")
    assert result["model"] == "tiny.en" and result["language"] == "en"
    assert "California" in result["text"] and len(result["words"]) > 5
    words = result["words"]
    assert all(a["start_s"] <= b["start_s"] for a, b in itertools.pairwise(words))
    fixed = client.predict(video, [{"word": "IN"}, *words[1:]], api_name="/update_transcript")
    assert fixed["words"][0] == {"word": "IN", "start_s": words[0]["start_s"], "end_s": words[0]["end_s"]}
    with pytest.raises(Exception, match="no library item"):
        client.predict("nope", api_name="/transcribe")


def test_captioned_batch_has_srt_files_in_the_zip(client, samples):
    video = _upload(client, samples / "videos" / "retalking_face_2.mp4", "video")
    music = _upload(client, samples / "audio" / "sms_sax-phrase.wav", "audio")
    hooks = client.predict("Captions test hook\nSecond one 🎬", "cap", api_name="/add_hooks")
    created = client.predict([video], [music], [h["id"] for h in hooks], 2,
                             {"captions": "speech", "caption_style": "karaoke", "audio_mode": "mix",
                              "hook_duration_s": 1.5}, api_name="/create_variant_batch")
    status = _wait(client, created["batch_id"])
    assert status["status"] == "completed", status
    results = client.predict(created["batch_id"], api_name="/batch_results")
    assert all(r["caption_file"] == r["file_name"].replace(".mp4", ".srt") for r in results)
    assert {r["render_path"] for r in results} == {"captioned"}
    zip_path = client.predict(created["batch_id"], api_name="/batch_zip")
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        srt = archive.read(results[0]["caption_file"]).decode()
    assert names == {r["file_name"] for r in results} | {r["caption_file"] for r in results} | {"manifest.json"}
    assert manifest["files"][results[0]["file_name"]]["captions"] == results[0]["caption_file"]
    assert srt.startswith("1\n00:00:0") and "California" in srt


@pytest.mark.skipif(not tts.available(), reason='piper-tts not installed (pip install -e ".[voice]")')
def test_voiceover_batch_from_hooks_with_ducked_music(client, samples):
    made = client.predict("Stop scrolling right now", "joe-us", api_name="/synthesize_voice")
    listed = client.predict("audio", "", api_name="/list_media")
    assert made["audio_id"] in [a["id"] for a in listed]
    video = _upload(client, samples / "videos" / "liveportrait_d13.mp4", "video")
    music = _upload(client, samples / "audio" / "sms_sax-phrase.wav", "audio")
    hooks = client.predict("This one trick changes everything", "vo", api_name="/add_hooks")
    created = client.predict([video], [music], [hooks[0]["id"]], 1,
                             {"voiceover": "hook", "captions": "script", "caption_style": "pop", "duck_db": 15,
                              "hook_start_s": 0.5}, None, api_name="/create_variant_batch")
    status = _wait(client, created["batch_id"])
    assert status["status"] == "completed", status
    result = client.predict(created["batch_id"], api_name="/batch_results")[0]
    info = probe(result["file_path"])
    assert info.has_audio and (info.width, info.height) == (1080, 1920)
    assert result["caption_file"]
    with pytest.raises(Exception, match="needs scripts"):
        client.predict([video], [], [], 1, {"voiceover": "script"}, [], api_name="/create_variant_batch")
