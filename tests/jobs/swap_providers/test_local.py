"""The offline ``local`` provider on real footage: timing, audio, which pixels change, cancel."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from jobs.runner import UserFacingError
from jobs.swap_providers.base import SwapContext, SwapOptions, SwapRequest
from jobs.swap_providers.local import LocalSwapProvider, pick_source_face
from media.face.landmarks import detect_faces
from media.face.mesh import FACE_OVAL, swap_outline
from media.job_store import JobCanceled
from media.probe import probe
from tests.clips import NO_FACE_FROM_S


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _oval_mask(shape, landmarks, grow: int) -> np.ndarray:
    """The swapped area (outline with the forehead lowered) shrunk, or the full outline grown."""
    outline = swap_outline(landmarks) if grow < 0 else landmarks[list(FACE_OVAL)]
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 255)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1,) * 2)
    return cv2.dilate(mask, k) if grow > 0 else cv2.erode(mask, k)


@pytest.fixture(scope="module")
def swapped(swap_clip, samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("swap") / "out.mp4"
    reports: list[tuple[float, str]] = []
    # No visible label here: these tests check that only the face changes (the label has its own test).
    request = SwapRequest(swap_clip, samples / "photos" / "obama.jpg", out, SwapOptions(ai_label=False),
                          job_id="job-local-1")
    result = LocalSwapProvider().swap(request, SwapContext(progress=lambda p, m: reports.append((p, m))))
    return result, reports


def test_output_keeps_timing_size_and_audio(swap_clip, swapped):
    result, _ = swapped
    src, out = probe(swap_clip), probe(result.out_path)
    assert (out.width, out.height) == (src.width, src.height)
    assert out.video_codec == "h264" and out.audio_codec == "aac"
    assert out.fps == pytest.approx(src.fps, rel=1e-3)
    assert len(_frames(result.out_path)) == len(_frames(swap_clip)) == result.frames_total
    assert out.duration_s == pytest.approx(src.duration_s, abs=1.0 / src.fps)
    assert out.has_audio and out.audio_duration_s == pytest.approx(src.audio_duration_s, abs=0.05)


def test_face_replaced_rest_of_frame_kept(swap_clip, swapped):
    result, _ = swapped
    before, after = _frames(swap_clip), _frames(result.out_path)
    fps = probe(swap_clip).fps
    with_face = [i for i in range(len(before)) if i / fps < NO_FACE_FROM_S - 0.1]
    assert result.frames_swapped == pytest.approx(int(NO_FACE_FROM_S * fps), abs=1)
    for i in with_face[::6]:
        landmarks = detect_faces(before[i])[0].landmarks
        diff = np.abs(before[i].astype(np.int16) - after[i].astype(np.int16)).mean(axis=2)
        inside = _oval_mask(before[i].shape, landmarks, -12) > 0
        outside = _oval_mask(before[i].shape, landmarks, 12) == 0
        assert diff[inside].mean() > 6, f"frame {i}: face not visibly changed"
        # Re-encoding alone differs by ~1.5 on average here (CRF 20 over a CRF 18 clip).
        assert diff[outside].mean() < 2.5, f"frame {i}: pixels outside the face changed"
        assert diff[inside].mean() > 3 * diff[outside].mean()


def test_frames_without_face_unchanged(swap_clip, swapped):
    result, _ = swapped
    before, after = _frames(swap_clip), _frames(result.out_path)
    fps = probe(swap_clip).fps
    for i in range(len(before)):
        if i / fps > NO_FACE_FROM_S + 0.05:
            diff = np.abs(before[i].astype(np.int16) - after[i].astype(np.int16))
            assert diff.mean() < 1.0 and diff.max() <= 8


def test_progress_reported_in_order(swapped):
    _, reports = swapped
    percents = [p for p, _ in reports]
    assert len(percents) >= 2 and percents == sorted(percents) and percents[-1] <= 100


def test_cancel_stops_and_leaves_no_file(swap_clip, samples, tmp_path):
    out = tmp_path / "out.mp4"
    calls = []

    def progress(percent: float, message: str) -> None:
        calls.append(percent)
        if message.startswith("frame"):
            raise JobCanceled("job-1")

    request = SwapRequest(swap_clip, samples / "photos" / "astronaut.png", out)
    with pytest.raises(JobCanceled):
        LocalSwapProvider().swap(request, SwapContext(progress=progress))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_no_face_in_any_frame_warns(faceless_clip, samples, tmp_path):
    request = SwapRequest(faceless_clip, samples / "photos" / "astronaut.png", tmp_path / "o.mp4")
    result = LocalSwapProvider().swap(request, SwapContext(progress=lambda p, m: None))
    assert result.frames_total == 25 and result.frames_swapped == 0
    assert any("no face found in any frame" in w for w in result.warnings)


def test_face_image_without_face_is_refused(tmp_path):
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 180, np.uint8))
    with pytest.raises(UserFacingError, match="no face found in the face image wall.png"):
        pick_source_face(blank)


def test_source_face_index_beyond_faces_is_refused(samples):
    with pytest.raises(UserFacingError, match="holds 1 face"):
        pick_source_face(samples / "photos" / "obama.jpg", index=2)


def test_reference_selection_needs_a_point(swap_clip, samples, tmp_path):
    request = SwapRequest(swap_clip, samples / "photos" / "obama.jpg", tmp_path / "o.mp4",
                          SwapOptions(face_selection="reference"))
    with pytest.raises(ValueError, match="reference face"):
        LocalSwapProvider().swap(request, SwapContext(progress=lambda p, m: None))
    assert not (tmp_path / "o.mp4").exists()


def test_mapping_swaps_each_target_with_its_source(samples, tmp_path):
    """Two people side by side, each given the other's face: source face 0 (the larger, obama) onto
    target face 1 (the astronaut, right) and the reverse; both faces change, and each takes its own source
    (its pixels move toward the mapped photo's face, not the other one's)."""
    from PIL import Image

    from media.face.embedding import distance, lbp_embedding
    from media.face.landmarks import load_rgb
    from tests.clips import _ffmpeg

    obama = np.asarray(Image.fromarray(load_rgb(samples / "photos" / "obama.jpg")).resize((300, 380)))
    astro = np.asarray(Image.fromarray(load_rgb(samples / "photos" / "astronaut.png")).resize((260, 260)))
    frame = np.full((400, 720, 3), 120, np.uint8)
    frame[10:390, 20:320], frame[70:330, 420:680] = obama, astro
    still = tmp_path / "two.png"
    Image.fromarray(frame).save(still)
    clip = tmp_path / "two.mp4"
    _ffmpeg("-loop", "1", "-i", str(still), "-t", "0.4", "-r", "10", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", str(clip))
    out = tmp_path / "mapped.mp4"
    options = SwapOptions(face_selection="reference", face_mapping=((0, 1), (1, 0)), ai_label=False)
    result = LocalSwapProvider().swap(SwapRequest(clip, still, out, options),
                                      SwapContext(progress=lambda p, m: None))
    assert result.frames_swapped == result.frames_total == 4
    before, after = _frames(clip)[0], _frames(out)[0]
    faces = sorted(detect_faces(before), key=lambda f: f.center[0])  # left (obama), right (astronaut)
    photos = {"obama": obama, "astronaut": astro}
    photo_embeddings = {k: lbp_embedding(v, detect_faces(v)[0].landmarks) for k, v in photos.items()}
    for face, mapped in zip(faces, ("astronaut", "obama")):
        x, y, w, h = face.box
        changed = np.abs(after[y:y + h, x:x + w].astype(int) - before[y:y + h, x:x + w]).sum(axis=2) > 30
        assert changed.mean() > 0.2  # the face was replaced
        moved = distance(lbp_embedding(after, face.landmarks), photo_embeddings[mapped])
        assert moved < distance(lbp_embedding(before, face.landmarks), photo_embeddings[mapped])
