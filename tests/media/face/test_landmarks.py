"""Face landmarks on the real sample photos (each holds exactly one face)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from media.face.landmarks import Face, detect_faces, load_rgb

PHOTOS = ["astronaut.png", "biden_portrait.jpg", "lin-manuel-miranda.png", "obama.jpg"]


@pytest.mark.parametrize("name", PHOTOS)
def test_one_face_per_sample_photo(samples, name):
    rgb = load_rgb(samples / "photos" / name)
    faces = detect_faces(rgb)
    assert len(faces) == 1
    face = faces[0]
    h, w = rgb.shape[:2]
    assert face.landmarks.shape == (468, 2) and face.landmarks.dtype == np.float32
    assert 0.5 <= face.score <= 1.0
    x, y, bw, bh = face.box
    assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
    # The mesh lies on the face: its centre is inside the detector box, its extent close to the box's.
    cx, cy = face.landmarks.mean(axis=0)
    assert x <= cx <= x + bw and y <= cy <= y + bh
    span = face.landmarks.max(axis=0) - face.landmarks.min(axis=0)
    assert 0.6 * bw < span[0] < 1.6 * bw
    # Anatomy: the subject's right eye corner (33) is left of the left eye corner (263) in the image,
    # and the nose tip (1) lies between the eyes and the chin (152).
    lm = face.landmarks
    assert lm[33, 0] < lm[1, 0] < lm[263, 0]
    assert min(lm[33, 1], lm[263, 1]) < lm[1, 1] < lm[152, 1]


def test_landmarks_follow_scale(samples):
    rgb = load_rgb(samples / "photos" / "obama.jpg")
    half = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] // 2, rgb.shape[0] // 2), Image.LANCZOS))
    full_lm = detect_faces(rgb)[0].landmarks
    half_lm = detect_faces(half)[0].landmarks
    face_size = float(np.ptp(full_lm[:, 0]))
    err = np.linalg.norm(half_lm * 2 - full_lm, axis=1).mean()
    assert err < 0.03 * face_size


def test_small_face_is_found(samples):
    """A face ~35 px wide in a 1280x720 frame (the whole-image pass misses it; the tiled pass finds it)."""
    rgb = load_rgb(samples / "photos" / "biden_portrait.jpg")
    small = np.asarray(Image.fromarray(rgb).resize((80, 80), Image.LANCZOS))
    canvas = np.full((720, 1280, 3), 90, dtype=np.uint8)
    canvas[500:580, 1000:1080] = small
    faces = detect_faces(canvas)
    assert len(faces) == 1
    cx, cy = faces[0].landmarks.mean(axis=0)
    assert 1000 < cx < 1080 and 500 < cy < 580


def test_no_face_gives_empty_list():
    rng = np.random.default_rng(0)
    assert detect_faces(np.full((360, 640, 3), 128, dtype=np.uint8)) == []
    assert detect_faces(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) == []


def test_largest_first_and_max_faces(samples):
    a = load_rgb(samples / "photos" / "obama.jpg")
    b = load_rgb(samples / "photos" / "astronaut.png")
    big = np.asarray(Image.fromarray(a).resize((455, 568)))
    small = np.asarray(Image.fromarray(b).resize((300, 300)))
    canvas = np.full((640, 900, 3), 200, dtype=np.uint8)
    canvas[:568, :455] = big
    canvas[100:400, 560:860] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].center[0] < 455 < faces[1].center[0]
    assert len(detect_faces(canvas, max_faces=1)) == 1


def test_bad_array_is_refused():
    with pytest.raises(ValueError, match="RGB uint8"):
        detect_faces(np.zeros((10, 10), dtype=np.uint8))


def test_load_rgb_flattens_alpha_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = load_rgb(tmp_path / "a.png")
    assert rgb.shape == (4, 4, 3)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[3, 3]) == (255, 255, 255)


def test_load_rgb_applies_exif_orientation(tmp_path):
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert load_rgb(tmp_path / "r.jpg").shape == (40, 20, 3)


def test_load_rgb_names_a_non_image(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="notes.png"):
        load_rgb(bad)


def test_face_properties():
    face = Face(box=(10, 20, 30, 40), score=0.9, landmarks=np.zeros((468, 2), np.float32))
    assert face.center == (25.0, 40.0)
    assert face.area == 1200


def test_threads_reuse_pooled_models(samples):
    """Job threads come and go; their MediaPipe graphs are reused, not created anew per thread."""
    import threading

    from media.face import landmarks

    rgb = load_rgb(samples / "photos" / "astronaut.png")
    detect_faces(rgb)
    before = (len(landmarks._DETECTORS._idle), len(landmarks._MESHES._idle))
    for _ in range(3):
        worker = threading.Thread(target=detect_faces, args=(rgb,))
        worker.start()
        worker.join()
    assert (len(landmarks._DETECTORS._idle), len(landmarks._MESHES._idle)) == before
