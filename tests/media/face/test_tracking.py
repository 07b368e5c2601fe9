"""FaceTracker: which faces are swapped in which frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from media.face.embedding import MATCH_DISTANCE, distance, lbp_embedding
from media.face.landmarks import detect_faces, load_rgb
from media.face.selection import face_at_point, reference_embeddings
from media.face.tracking import FaceTracker

LBP = MATCH_DISTANCE["lbp"]


@pytest.fixture(scope="module")
def two_faces(samples) -> np.ndarray:
    """A 960x540 frame: a large face on the left, a smaller one on the right."""
    big = np.asarray(Image.fromarray(load_rgb(samples / "photos" / "obama.jpg")).resize((400, 500)))
    small = np.asarray(Image.fromarray(load_rgb(samples / "photos" / "astronaut.png")).resize((260, 260)))
    canvas = np.full((540, 960, 3), 120, np.uint8)
    canvas[20:520, 40:440] = big
    canvas[140:400, 640:900] = small
    return canvas


def _centre_x(landmarks: np.ndarray) -> float:
    return float(landmarks[:, 0].mean())


def _reference(frame: np.ndarray, point) -> list[np.ndarray]:
    return reference_embeddings(frame, lbp_embedding, point=point)


def test_one_many_and_reference(two_faces):
    largest = FaceTracker(30, "one").update(two_faces)
    assert len(largest) == 1 and _centre_x(largest[0]) < 440
    everyone = FaceTracker(30, "many").update(two_faces)
    assert sorted(_centre_x(f) < 440 for f in everyone) == [False, True]
    picked = FaceTracker(30, "reference", references=_reference(two_faces, (770, 270)), embed=lbp_embedding,
                         match_distance=LBP).update(two_faces)
    assert len(picked) == 1 and _centre_x(picked[0]) > 640


def test_embedding_tells_people_apart(samples, two_faces):
    obama = load_rgb(samples / "photos" / "obama.jpg")
    [photo_face] = detect_faces(obama)
    faces = detect_faces(two_faces)  # obama (resized) left, the astronaut right
    assert face_at_point(faces, (770, 270)) == 1 and face_at_point(faces, (200, 200)) == 0
    photo = lbp_embedding(obama, photo_face.landmarks)
    same = distance(photo, lbp_embedding(two_faces, faces[0].landmarks))
    other = distance(photo, lbp_embedding(two_faces, faces[1].landmarks))
    assert same < LBP < other


def test_reference_face_is_followed_by_identity_not_position(two_faces):
    """The reference person is found again after the two faces trade places (a cut)."""
    tracker = FaceTracker(30, "reference", references=_reference(two_faces, (770, 270)), embed=lbp_embedding,
                          match_distance=LBP, detect_every=4)
    for shift in range(0, 30, 3):  # the scene pans left by 3 px a frame
        frame = np.roll(two_faces, -shift, axis=1)
        [face] = tracker.update(frame)
        assert 600 - shift < _centre_x(face) < 900 - shift
    traded = np.full_like(two_faces, 120)
    traded[:, :480], traded[:, 480:] = two_faces[:, 480:], two_faces[:, :480]  # astronaut now on the left
    for _ in range(3):
        [face] = tracker.update(traded)
        assert _centre_x(face) < 480


def test_mapping_gives_each_target_its_source(two_faces):
    references = reference_embeddings(two_faces, lbp_embedding, target_faces=[1, 0])  # slot 0 -> face 1
    tracker = FaceTracker(30, "reference", references=references, embed=lbp_embedding, match_distance=LBP)
    targets = tracker.update_targets(two_faces)
    assert sorted((_centre_x(f) > 480, slot) for f, slot in targets) == [(False, 1), (True, 0)]
    with pytest.raises(ValueError, match="target face number 3"):
        reference_embeddings(two_faces, lbp_embedding, target_faces=[2])


def test_no_face_then_a_face_appears(two_faces):
    tracker = FaceTracker(30, "one", detect_every=8)
    blank = np.full_like(two_faces, 120)
    assert tracker.update(blank) == []
    assert tracker.update(blank) == []
    assert len(tracker.update(two_faces)) == 1  # found at once, not at the next keyframe
    assert tracker.update(blank) == []  # the face left: nothing swapped


def test_smoothing_reduces_jitter(two_faces):
    rng = np.random.default_rng(0)
    tracker = FaceTracker(30, "one", detect_every=1000)
    raw_x, smooth_x = [], []
    for _ in range(20):
        dx, dy = rng.integers(-2, 3, size=2)
        frame = np.roll(np.roll(two_faces, dx, axis=1), dy, axis=0)
        [face] = tracker.update(frame)
        raw_x.append(dx)
        smooth_x.append(_centre_x(face))
    assert np.std(np.diff(smooth_x)) < np.std(np.diff(raw_x))


def test_bad_selection_is_refused():
    with pytest.raises(ValueError, match="unknown face selection"):
        FaceTracker(30, "best")
    with pytest.raises(ValueError, match="reference face embedding"):
        FaceTracker(30, "reference")
