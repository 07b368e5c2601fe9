"""The Swapper tab's event functions on real library rows (the layout itself is exercised by
test_swapper_api.py, which builds and serves it)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from jobs.queue import huey
from media import store
from media.db import session_scope
from media.models import Image, Video
from studio import swapper_tab
from tests.clips import make_talking_clip


@pytest.fixture(scope="module")
def swap_clip(samples, tmp_path_factory):
    return make_talking_clip(samples, tmp_path_factory.mktemp("clips"))


def _row(table, path, **fields):
    dest = store.new_file_path("videos" if table is Video else "images", path.name)
    shutil.copyfile(path, dest)
    thumb = store.new_file_path("thumbnails", path.name, path.suffix)
    shutil.copyfile(path, thumb)
    with session_scope() as session:
        row = table(name=path.name, file=store.rel_path(dest), thumbnail=store.rel_path(thumb), **fields)
        session.add(row)
    return row.id


@pytest.fixture
def rows(fresh_data_dir, swap_clip, samples):
    return _row(Video, swap_clip, type="source", duration_s=1.6), _row(Image, samples / "photos" / "obama.jpg")


def test_lists_offer_the_library(rows):
    video_id, image_id = rows
    videos_update, gallery, face_ids = swapper_tab._reload([video_id, "gone"])
    assert videos_update["value"] == [video_id]
    assert [value for _, value in videos_update["choices"]] == [video_id]
    assert face_ids == [image_id] and gallery[0][1] == "obama.jpg"


def test_preview_shows_before_and_after(rows):
    video_id, image_id = rows
    before, after, message = swapper_tab._preview([video_id], image_id, 0.5, "one", None, None, 0, 0)
    assert before.shape == after.shape == (480, 480, 3)
    changed = np.abs(before.astype(int) - after).sum(axis=2) > 30
    assert 0.02 < changed.mean() < 0.3  # the face, not the whole frame
    assert "1 face(s) found, 1 swapped" in message
    _, _, refused = swapper_tab._preview([], image_id, 0.5, "one", None, None, 0, 0)
    assert "pick a source video" in refused


def test_start_queues_and_lists_the_job(rows):
    video_id, image_id = rows
    previous, huey.immediate = huey.immediate, True
    try:
        message, table = swapper_tab._start([video_id], image_id, "local", "one", None, None, 0, 0)
    finally:
        huey.immediate = previous
    assert "queued 1 face-swap job" in message
    [row] = table
    assert row[3] == "completed" and row[1] == "talking_480.mp4" and row[6]
    job_id, before, after = swapper_tab._pick_job(_Select(0), _Frame(table))
    assert job_id == row[0] and before.endswith(".mp4") and after.endswith(".mp4") and before != after
    bad, _ = swapper_tab._start([video_id], image_id, "local", "reference", None, None, 0, 0)
    assert "needs reference_point" in bad


class _Select:
    def __init__(self, row: int):
        self.index = (row, 0)


class _Frame:
    def __init__(self, rows):
        import pandas as pd

        self.iloc = pd.DataFrame(rows).iloc
