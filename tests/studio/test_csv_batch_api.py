"""The spreadsheet endpoints (issue 14) through gradio_client: template, preview, start, refusal."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from gradio_client import handle_file

from jobs.queue import huey
from media import library
from studio.app import build_app
from tests.serving import served


@pytest.fixture
def client(fresh_data_dir, samples):
    huey.immediate = True
    try:
        with served(build_app()) as studio:
            yield studio
    finally:
        huey.immediate = False


def test_template_preview_start_and_refusal(client, samples, tmp_path):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video")
    template = Path(client.predict(api_name="/batch_csv_template"))
    header = next(csv.reader(template.open(encoding="utf-8")))
    assert header[:3] == ["video", "audio", "hook"] and "fit" in header

    table = f"video,hook_duration_s\n{video.name},0.5\nunknown.mp4,\n"
    shown = client.predict(None, None, table, api_name="/preview_batch_csv")
    assert shown["rows"][0]["video"]["id"] == video.id
    assert shown["unmatched"] == [{"row": 3, "column": "video", "value": "unknown.mp4", "why": "matches nothing"}]
    with pytest.raises(Exception, match="row 3: video 'unknown.mp4' matches nothing"):
        client.predict(None, None, table, "", api_name="/create_batch_from_csv")
    with pytest.raises(Exception, match="unknown column 'speed'"):
        client.predict(None, None, "video,speed\nx,1\n", "", api_name="/create_batch_from_csv")

    upload = tmp_path / "rows.csv"
    upload.write_text(f"video,hook_duration_s\n{video.name},0.5\n", encoding="utf-8")
    created = client.predict(handle_file(str(upload)), {"fit": "crop"}, "", "",
                             api_name="/create_batch_from_csv")
    assert created["total"] == 1
    deadline = time.monotonic() + 120
    while (status := client.predict(created["batch_id"], api_name="/batch_status"))["status"] in (
            "queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert status["status"] == "completed" and status["options"]["fit"] == "crop"


def test_lipsync_batch_estimate_endpoint(client, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    shown = client.predict([video], [audio], [], 2, {"lipsync": "sync_lipsync"}, [],
                           api_name="/estimate_variant_batch")
    assert shown["total"] == 2 and shown["lipsync_variants"] == 2 and shown["estimate_cents"] > 0
    with pytest.raises(Exception, match="unknown lipsync provider"):
        client.predict([video], [audio], [], 1, {"lipsync": "nope"}, [], api_name="/estimate_variant_batch")
