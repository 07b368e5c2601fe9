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


def test_a_two_face_image_shows_its_faces_numbered_and_a_click_picks_one(rows, samples, tmp_path):
    import gradio as gr
    from PIL import Image as PILImage

    # A real two-face image: two portraits side by side, the larger face on the right.
    left = PILImage.open(samples / "photos" / "obama.jpg").convert("RGB")
    right = PILImage.open(samples / "photos" / "biden_portrait.jpg").convert("RGB")
    left = left.resize((int(left.width * 400 / left.height), 400))
    right = right.resize((int(right.width * 560 / right.height), 560))
    pair = PILImage.new("RGB", (left.width + right.width, 560), (40, 40, 40))
    pair.paste(left, (0, 80))
    pair.paste(right, (left.width, 0))
    path = tmp_path / "two_faces.png"
    pair.save(path)
    image_id = _row(Image, path)

    label, shown, boxes, number = swapper_tab._image_faces(image_id, "two_faces.png")
    assert len(boxes) == 2 and number == 1
    assert "2 faces, numbered largest first" in label
    assert boxes[0][0] >= left.width > boxes[1][0]  # 1 = the larger face (right), 2 = the left one
    numbered = shown["value"]
    original = np.asarray(pair)
    assert numbered.shape == original.shape and shown["visible"]
    changed = np.abs(numbered.astype(int) - original).sum(axis=2) > 60
    x, y, w, h = boxes[1]
    assert changed[y:y + h, x].mean() > 0.5  # the box is drawn round face 2
    assert changed[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].mean() < 0.05  # the face itself is left

    click = gr.SelectData(None, {"index": [x + w // 2, y + h // 2], "value": None})
    picked, message = swapper_tab._pick_image_face(boxes, click)
    assert picked == 2 and "face 2" in message
    # The picked number is what the preview uses (0-based there): face 2 swaps in, a face 3 does not exist.
    video_id, _ = rows
    _, _, swapped = swapper_tab._preview([video_id], image_id, 0.5, "one", None, None, 0, picked - 1)
    assert "1 swapped" in swapped
    _, _, refused = swapper_tab._preview([video_id], image_id, 0.5, "one", None, None, 0, 2)
    assert "holds 2 face(s); face number 3 does not exist" in refused
    # A large photo is shown at most FACES_PREVIEW_SIDE pixels across, its boxes in the shown image's pixels.
    big_path = tmp_path / "two_faces_big.png"
    pair.resize((pair.width * 3, pair.height * 3)).save(big_path)
    _, big_shown, big_boxes, _ = swapper_tab._image_faces(_row(Image, big_path), "two_faces_big.png")
    from jobs.swap_tasks import FACES_PREVIEW_SIDE

    assert max(big_shown["value"].shape[:2]) == FACES_PREVIEW_SIDE < 3 * pair.width
    bx, by, bw, bh = big_boxes[1]
    big_click = gr.SelectData(None, {"index": [bx + bw // 2, by + bh // 2], "value": None})
    assert swapper_tab._pick_image_face(big_boxes, big_click)[0] == 2
    shown_scale = FACES_PREVIEW_SIDE / (3 * pair.width)  # the big image's pixels -> the shown image's
    assert abs(bx - 3 * x * shown_scale) <= 0.1 * bw and abs(bw - 3 * w * shown_scale) <= 0.1 * bw
    one_face, _, single, _ = swapper_tab._image_faces(_row(Image, samples / "photos" / "obama.jpg"), "obama.jpg")
    assert len(single) == 1 and "(1 face)" in one_face


def test_an_image_without_a_face_says_so(fresh_data_dir, tmp_path):
    from PIL import Image as PILImage

    path = tmp_path / "grey.png"
    PILImage.new("RGB", (320, 240), (128, 128, 128)).save(path)
    label, shown, boxes, _ = swapper_tab._image_faces(_row(Image, path), "grey.png")
    assert boxes == [] and "No face found" in label and shown["visible"]
