"""The face engine's parts: triangulation, warp, colour transfer, cloning, smoothing, swapping a frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from media.face.blend import alpha_blend, feather_mask, poisson_correct, seamless_clone
from media.face.colour import transfer_colour
from media.face.landmarks import detect_faces, load_rgb
from media.face.mesh import FACE_OVAL, face_size, mouth_openness, triangulate
from media.face.smoothing import OneEuroFilter
from media.face.swapper import prepare_source, swap_face
from media.face.warp import Region, triangle_affines, warp_face


def test_triangulation_covers_the_mesh_hull(samples):
    landmarks = detect_faces(load_rgb(samples / "photos" / "obama.jpg"))[0].landmarks
    triangles = triangulate(landmarks)
    assert triangles.shape[1] == 3 and 800 < len(triangles) < 940  # 2n - 2 - hull for n = 468
    pts = landmarks[triangles].astype(np.float64)
    area = 0.5 * np.abs(np.cross(pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0])).sum()
    hull_area = cv2.contourArea(cv2.convexHull(landmarks))
    assert area == pytest.approx(hull_area, rel=1e-3)
    with pytest.raises(ValueError):
        triangulate(np.zeros((2, 2)))


def test_triangle_affines_map_vertices_exactly():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, (30, 2))
    dst = src * 1.7 + rng.normal(0, 2, src.shape) + 40
    triangles = triangulate(dst)
    affines = triangle_affines(src, dst, triangles)
    d = dst[triangles]
    mapped = np.einsum("mki,mij->mkj", np.concatenate([d, np.ones(d.shape[:2] + (1,))], axis=2), affines)
    assert np.abs(mapped - src[triangles]).max() < 1e-6


def test_warp_of_a_shifted_mesh_is_a_shift():
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 255, (120, 120, 3), dtype=np.uint8), (0, 0), 2)
    src = np.array([[20, 20], [100, 20], [100, 100], [20, 100], [60, 60], [40, 80]], np.float32)
    dst = src + (5, 7)
    warped, mask = warp_face(image, src, dst, triangulate(src), Region(0, 0, 120, 120))
    inside = mask > 0
    assert inside.sum() > 5000
    expected = np.roll(np.roll(image, 7, axis=0), 5, axis=1)
    assert np.abs(warped[inside].astype(int) - expected[inside]).max() <= 1


def test_colour_transfer_matches_statistics():
    """Means and spreads are matched in L*a*b*; a chroma spread is narrowed but never widened."""
    rng = np.random.default_rng(2)
    mask = np.full((60, 60), 255, np.uint8)

    def lab(image):
        return cv2.cvtColor(image, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(float)

    source = rng.normal(90, 14, (60, 60, 3)).clip(0, 255).astype(np.uint8)
    target = rng.normal((170, 120, 100), 10, (60, 60, 3)).clip(0, 255).astype(np.uint8)
    out = transfer_colour(source, target, mask)
    assert out.reshape(-1, 3).mean(axis=0) == pytest.approx(target.reshape(-1, 3).mean(axis=0), abs=3)
    # Matched in L*a*b*, the space the transfer works in (its stats use a 1-in-9 sample).
    assert lab(out).mean(axis=0) == pytest.approx(lab(target).mean(axis=0), abs=2)
    assert lab(out).std(axis=0) == pytest.approx(lab(target).std(axis=0), rel=0.15)

    narrow = rng.normal(90, 5, (60, 60, 3)).clip(0, 255).astype(np.uint8)
    wide = rng.normal((170, 120, 100), 30, (60, 60, 3)).clip(0, 255).astype(np.uint8)
    out = transfer_colour(narrow, wide, mask)
    assert lab(out).std(axis=0)[0] > 1.5 * lab(narrow).std(axis=0)[0]  # lightness: widened (up to 2x)
    assert (lab(out).std(axis=0)[1:] <= lab(narrow).std(axis=0)[1:] * 1.1 + 0.5).all()  # chroma: not widened
    assert (lab(wide).std(axis=0)[1:] > 2 * lab(narrow).std(axis=0)[1:]).all()
    assert np.array_equal(transfer_colour(source, target, mask, strength=0.0), source)


def test_seamless_clone_takes_the_frame_colour_at_the_edge_and_keeps_outside():
    frame = np.full((90, 90, 3), (200, 150, 120), np.uint8)
    face = np.full((90, 90, 3), (60, 60, 60), np.uint8)
    cv2.circle(face, (45, 45), 6, (0, 0, 0), -1)  # a detail the clone must keep
    mask = np.zeros((90, 90), np.uint8)
    cv2.circle(mask, (45, 45), 30, 255, -1)
    out = seamless_clone(face, frame, mask)
    outside = cv2.dilate(mask, np.ones((3, 3), np.uint8)) == 0
    assert np.array_equal(out[outside], frame[outside])
    # Near the mask's edge the colour is the frame's, not the flat grey source's.
    assert np.abs(out[45, 18].astype(int) - frame[45, 18]).max() < 20
    # The dark detail survives as a gradient: centre darker than the ring around it.
    assert int(out[45, 45].sum()) < int(out[45, 30].sum()) - 100


def test_poisson_correct_solved_small_matches_full_solve():
    rng = np.random.default_rng(4)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8), (0, 0), 8)
    face = cv2.GaussianBlur(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8), (0, 0), 3)
    mask = np.zeros((200, 200), np.uint8)
    cv2.ellipse(mask, (100, 100), (70, 85), 0, 0, 360, 255, -1)
    inner = cv2.erode(mask, np.ones((15, 15), np.uint8)) > 0
    full = poisson_correct(face, frame, mask, max_side=400).astype(int)
    small = poisson_correct(face, frame, mask, max_side=96).astype(int)
    assert np.abs(full[inner] - small[inner]).mean() < 4


def test_feather_and_alpha_blend():
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 10:30] = 255
    alpha = feather_mask(mask, 3)
    assert alpha[20, 20] == pytest.approx(1.0, abs=0.01) and alpha[0, 0] == 0.0
    out = alpha_blend(np.full((40, 40, 3), 200, np.uint8), np.zeros((40, 40, 3), np.uint8), alpha)
    assert out[20, 20, 0] >= 198 and out[0, 0, 0] == 0


def test_one_euro_filter_removes_jitter_but_follows_motion():
    rng = np.random.default_rng(5)
    still = OneEuroFilter()
    truth = np.full((468, 2), 100.0)
    outs = [still(truth + rng.normal(0, 2, truth.shape), 1 / 30, scale=200) for _ in range(60)]
    assert np.abs(outs[-1] - truth).std() < 1.0  # raw noise std is 2
    moving = OneEuroFilter()
    for k in range(60):
        out = moving(truth + (k * 10.0, 0), 1 / 30, scale=200)
    assert abs(out[0, 0] - (100 + 590)) < 15  # lags well under two frames of motion
    moving.reset()
    assert np.array_equal(moving(truth, 1 / 30), truth.astype(np.float32))


def test_swap_face_changes_only_the_face(samples):
    source_rgb = load_rgb(samples / "photos" / "obama.jpg")
    source = prepare_source(source_rgb, detect_faces(source_rgb)[0])
    frame = load_rgb(samples / "photos" / "astronaut.png")
    target = detect_faces(frame)[0].landmarks
    out = frame.copy()
    region = swap_face(out, source, target)
    assert region is not None
    oval = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(target[list(FACE_OVAL)]).astype(np.int32)], 255)
    diff = np.abs(out.astype(int) - frame).sum(axis=2)
    assert diff[cv2.dilate(oval, np.ones((5, 5), np.uint8)) == 0].max() == 0
    assert diff[cv2.erode(oval, np.ones((25, 25), np.uint8)) > 0].mean() > 20
    # The swapped face now has the source's landmarks layout where the target's face was.
    moved = detect_faces(out)[0].landmarks
    assert np.linalg.norm(moved - target, axis=1).mean() < 0.06 * face_size(target)


def test_mouth_openness_and_face_size(samples):
    landmarks = detect_faces(load_rgb(samples / "photos" / "biden_portrait.jpg"))[0].landmarks
    assert 300 < face_size(landmarks) < 600
    assert 0.0 <= mouth_openness(landmarks) < 0.6


def test_back_facing_triangles_are_culled():
    from media.face.warp import facing_triangles

    src = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float32)
    triangles = triangulate(src)
    assert facing_triangles(src, src * 2 + 5, triangles).all()
    mirrored = src * (-1, 1)  # seen from behind: every winding flips
    assert not facing_triangles(src, mirrored, triangles).any()


def test_source_mouth_opening_is_left_out(samples):
    """biden_portrait.jpg smiles with teeth showing: no prepared triangle lies inside the lips."""
    from media.face.mesh import INNER_LIPS, mouth_openness

    rgb = load_rgb(samples / "photos" / "biden_portrait.jpg")
    face = detect_faces(rgb)[0]
    assert mouth_openness(face.landmarks) > 0.06
    source = prepare_source(rgb, face)
    lips = face.landmarks[list(INNER_LIPS)]
    centroids = face.landmarks[source.triangles].mean(axis=1)
    assert not any(cv2.pointPolygonTest(lips, (float(x), float(y)), False) > 0 for x, y in centroids)
    assert len(source.triangles) < len(triangulate(face.landmarks))


def test_swap_outline_lowers_only_the_forehead(samples):
    from media.face.mesh import BETWEEN_BROWS, FOREHEAD_ARC, swap_outline

    landmarks = detect_faces(load_rgb(samples / "photos" / "obama.jpg"))[0].landmarks
    outline = swap_outline(landmarks, forehead=0.5)
    for k, index in enumerate(FACE_OVAL):
        if index in FOREHEAD_ARC:
            expected = (landmarks[index] + landmarks[BETWEEN_BROWS]) / 2
            assert np.allclose(outline[k], expected, atol=1e-3)
        else:
            assert np.array_equal(outline[k], landmarks[index])
