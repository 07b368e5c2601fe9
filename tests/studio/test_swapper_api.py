"""The Swapper's named endpoint through gradio_client, with a real in-process queue consumer."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import gradio as gr
import pytest

from jobs.consumer import start_consumer, stop_consumer
from media import store
from media.db import session_scope
from media.models import Image, Video
from studio import jobs_tab, swapper_tab
from tests.clips import make_talking_clip
from tests.serving import served


@pytest.fixture(scope="module")
def swap_clip(samples, tmp_path_factory):
    return make_talking_clip(samples, tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def client():
    consumer = start_consumer(workers=1, periodic=False)
    with gr.Blocks() as demo:
        swapper_tab.build()
        jobs_tab.build()
    try:
        with served(demo) as studio:
            yield studio
    finally:
        stop_consumer(consumer, graceful=False)


def _row(table, path: Path, **fields):
    dest = store.new_file_path("videos" if table is Video else "images", path.name)
    shutil.copyfile(path, dest)
    with session_scope() as session:
        row = table(name=path.name, file=store.rel_path(dest), **fields)
        session.add(row)
    return row.id


def test_create_swap_job_endpoint(client, swap_clip, samples):
    video_id = _row(Video, swap_clip, type="source")
    image_id = _row(Image, samples / "photos" / "lin-manuel-miranda.png")
    result = client.predict([video_id], image_id, "local", {"face_selection": "one"},
                            api_name="/create_swap_job")
    [job_id] = result["job_ids"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.predict(job_id, api_name="/job_status")
        if status["status"] in ("completed", "failed", "canceled"):
            break
        time.sleep(0.3)
    assert status["status"] == "completed", status["error"]
    [result_id] = status["result_ids"]
    with session_scope() as session:
        video = session.get(Video, result_id)
    assert video.type == "face_swapped" and video.parent_video_id == video_id


def test_create_swap_job_endpoint_refuses_bad_input(client, samples):
    image_id = _row(Image, samples / "photos" / "obama.jpg")
    with pytest.raises(Exception, match="no library video with id missing"):
        client.predict(["missing"], image_id, "local", {}, api_name="/create_swap_job")
