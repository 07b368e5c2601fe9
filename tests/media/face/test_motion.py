"""The offline engine's expression motion: what moves on the target's face comes through the swap, what
stays (the target's own creases, its identity) does not; the photo's crow's feet are softened."""

from __future__ import annotations

import cv2
import numpy as np

from media.face.mesh import face_size
from media.face.motion import MotionTransfer, similarity, soften_creases
from media.face.swapper import prepare_source, swap_face

DARK = (40, 30, 30)


def _fold(landmarks: np.ndarray) -> tuple[tuple[int, int], tuple[int, int], int]:
    """A smile-fold-like line from beside the right nose wing down past the mouth corner."""
    size = face_size(landmarks)
    wing, corner = landmarks[48], landmarks[61]
    start = wing + (corner - wing) * 0.15 + (-0.03 * size, 0)
    end = corner + (-0.04 * size, 0.02 * size)
    return tuple(int(v) for v in start), tuple(int(v) for v in end), max(int(0.012 * size), 2)


def _line_mask(shape, line) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.line(mask, line[0], line[1], 255, line[2])
    return mask > 0


def test_similarity_recovers_rotation_scale_shift():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, (10, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = similarity(src, src @ rot.T + shift)
    assert np.allclose(matrix[:, :2], rot, atol=1e-4) and np.allclose(matrix[:, 2], shift, atol=1e-3)


def _run(source, frames, landmarks):
    """Swap every frame (copies) with one prepared source, as a job does; the swapped frames."""
    out = []
    for frame in frames:
        swapped = frame.copy()
        assert swap_face(swapped, source, landmarks) is not None
        out.append(swapped)
    return out


def test_static_target_crease_is_not_transferred_but_a_new_one_is(obama, target):
    """A crease the target has in every frame is its own face and stays out of the swap; the same crease
    appearing only in the last frame (an expression) comes through, darker than without it."""
    frame, landmarks = target
    line = _fold(landmarks)
    creased = frame.copy()
    cv2.line(creased, line[0], line[1], DARK, line[2])
    on_line = _line_mask(frame.shape, line)

    plain = _run(prepare_source(*obama), [frame] * 6, landmarks)[-1].astype(int)
    static = _run(prepare_source(*obama), [creased] * 6, landmarks)[-1].astype(int)
    appearing = _run(prepare_source(*obama), [frame] * 5 + [creased], landmarks)[-1].astype(int)

    luma = [img[on_line].mean() for img in (plain, static, appearing)]
    assert abs(luma[1] - luma[0]) < 4  # the target's static crease: not in the swap
    assert luma[2] < luma[0] - 8  # the same crease as it appears: in the swap


def test_motion_change_is_zero_on_a_still_face_and_outside_mouth_and_eyes(target):
    frame, landmarks = target
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    motion = MotionTransfer(landmarks)
    assert motion.change(motion.face(landmarks), gray, landmarks) is None  # a face's first frame
    still = motion.change(motion.face(landmarks), gray, landmarks)
    assert still is not None and np.abs(still).max() < 1.0
    size = face_size(landmarks)
    marked = frame.copy()
    fold = _fold(landmarks)
    cv2.line(marked, fold[0], fold[1], DARK, fold[2])
    forehead = (tuple(int(v) for v in landmarks[67] + (0, 0.06 * size)),
                tuple(int(v) for v in landmarks[297] + (0, 0.06 * size)), fold[2])
    cv2.line(marked, forehead[0], forehead[1], DARK, forehead[2])
    change = motion.change(motion.face(landmarks), cv2.cvtColor(marked, cv2.COLOR_RGB2GRAY), landmarks)
    assert change[_line_mask(frame.shape, fold)].mean() < -10  # the smile fold: the target's change
    assert np.abs(change[_line_mask(frame.shape, forehead)]).mean() < 2  # the forehead: not a motion region


def test_faces_far_apart_keep_their_own_means(target):
    """``many`` selection: two faces given to one MotionTransfer each start on their own first frame."""
    frame, landmarks = target
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    motion = MotionTransfer(landmarks)
    shifted = landmarks + (3 * face_size(landmarks), 0)
    first = motion.face(landmarks)
    assert motion.change(first, gray, landmarks) is None
    other = motion.face(shifted)
    assert other is not first and motion.change(other, gray, landmarks) is None  # its own first frame
    assert motion.face(landmarks) is first and motion.change(first, gray, landmarks) is not None


def _squeeze_eyes(landmarks: np.ndarray, share: float) -> np.ndarray:
    from media.face.occlusion import LEFT_EYE, RIGHT_EYE

    out = landmarks.copy()
    for ring in (RIGHT_EYE, LEFT_EYE):
        pts = out[list(ring)]
        mid = pts.mean(axis=0)
        out[list(ring)] = mid + (pts - mid) * (1.0, share)
    return out


def test_a_blink_is_judged_against_the_faces_own_open_eyes(obama, target):
    """Face Mesh lids never meet: a blink that only narrows the eyes to 0.65 of their open gap (above
    any fixed threshold) keeps the target's eyes, lashes included (a dark line drawn across the eye comes
    through), recoloured towards the swap's skin around them; open eyes keep the photo's (the line does
    not come through)."""
    from media.face.occlusion import RIGHT_EYE, eye_openness

    frame, landmarks = target
    blink = _squeeze_eyes(landmarks, 0.65)
    assert eye_openness(blink) > 0.16
    size = face_size(landmarks)
    ends = [tuple(int(v) for v in landmarks[i]) for i in (33, 133)]
    marked = frame.copy()
    cv2.line(marked, ends[0], ends[1], (20, 20, 20), 3)
    line = np.zeros(frame.shape[:2], np.uint8)
    cv2.line(line, ends[0], ends[1], 255, 3)
    line = line > 0

    def luma(image):
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float)[line].mean()

    def run(image):  # one job: 4 open frames, then the blink
        source = prepare_source(*obama)
        return _run(source, [image] * 4, landmarks) + _run(source, [image], blink)

    plain, lined = run(frame), run(marked)
    assert abs(luma(lined[3]) - luma(plain[3])) < 5  # open: the photo's eye
    assert luma(lined[4]) < luma(plain[4]) - 40  # blinking: the target's eye and lashes

    # Pale lids: the target's skin around its eye 40 levels lighter than the rest of its face.
    aperture = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(aperture, [np.round(blink[list(RIGHT_EYE)]).astype(np.int32)], 255)

    def grown(share):
        r = max(int(share * size), 1)
        return cv2.dilate(aperture, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0

    pale = frame.copy()
    pale[grown(0.1)] = np.clip(pale[grown(0.1)].astype(int) + 40, 0, 255).astype(np.uint8)
    eye = grown(0.012)
    shift = np.abs(run(pale)[4][eye].astype(int) - plain[4][eye]).mean()
    # Kept as they are, the lids are 40 levels lighter too (measured 39.6); recoloured to the swap's skin
    # around them, about half as much (20.5: the lighter frame also moves the swap's colour a little).
    assert shift < 28


def test_photo_crows_feet_are_softened_and_eyes_stay_sharp(obama):
    rgb, face = obama
    landmarks = face.landmarks
    soft = soften_creases(rgb, landmarks)
    size = face_size(landmarks)

    def sharpness(image, centre, radius):
        x, y = int(centre[0]), int(centre[1])
        patch = cv2.cvtColor(image[y - radius:y + radius, x - radius:x + radius], cv2.COLOR_RGB2GRAY)
        return float(cv2.Laplacian(patch, cv2.CV_32F).var())

    crows_feet = landmarks[263] + 0.4 * (landmarks[356] - landmarks[263])
    r = max(int(0.04 * size), 4)
    assert sharpness(soft, crows_feet, r) < 0.7 * sharpness(rgb, crows_feet, r)
    iris = landmarks[[362, 263]].mean(axis=0)
    assert sharpness(soft, iris, r // 2) > 0.95 * sharpness(rgb, iris, r // 2)


def test_photo_smile_folds_are_filled_in_and_lips_stay_sharp(obama):
    """obama.jpg smiles: its smile folds (dark valleys along SMILE_FOLDS) are filled in, so they do not
    freeze on a target that talks; the lips and teeth keep their edges."""
    from media.face.motion import SMILE_FOLDS, fill_folds
    from media.face.occlusion import OUTER_LIPS

    rgb, face = obama
    landmarks = face.landmarks
    size = face_size(landmarks)
    soft = fill_folds(rgb, landmarks)
    band = np.zeros(rgb.shape[:2], np.uint8)
    for chain in SMILE_FOLDS:
        cv2.polylines(band, [np.round(landmarks[list(chain)]).astype(np.int32)], False, 255, int(0.05 * size))
    lips = np.zeros_like(band)
    cv2.fillPoly(lips, [np.round(landmarks[list(OUTER_LIPS)]).astype(np.int32)], 255)
    band = (band > 0) & (cv2.dilate(lips, np.ones((9, 9), np.uint8)) == 0)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(0.06 * size) | 1,) * 2)

    def valley_depth(image):  # black-hat: how much darker than the skin beside it
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return float(cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, k)[band].mean())

    assert valley_depth(soft) < 0.5 * valley_depth(rgb)
    edge = lips > 0
    sharp = [float(cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_32F)[edge].var()) for im in (rgb, soft)]
    assert sharp[1] > 0.9 * sharp[0]
