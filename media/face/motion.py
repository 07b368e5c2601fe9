"""Expression motion from the target: the *temporal change* of its fine detail around the mouth and eyes.

Keeping the target's fine detail (creases, folds) makes a swap follow the target's expression, but the
target's static creases are its identity: pasted onto the photo's face they pull the result back to the
target. What moves with the expression is the change of that detail over time. Each target face is
brought into a fixed face-aligned canvas (a similarity transform of its stable points: eye corners, nose
bridge; the canvas face is CANVAS_FACE pixels wide), a running mean of its luma is kept there per face
(exponential over about MEAN_FRAMES frames), and the high-pass of (frame - mean) — a crease that
appears when the target smiles, lips and cheeks that move as it talks, lids that close — is weighted by
landmark masks of the mouth and eye regions (the eye openings themselves left out: a moving iris would
ghost) and mapped back onto the frame. Static creases of the target cancel; the first frame of a face
adds nothing.

The photo's own creases where an expression makes them (smile folds, crow's feet) are softened once per
job (:func:`soften_creases`), so they do not stay frozen while the target's face moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from media.face.mesh import face_size
from media.face.occlusion import LEFT_EYE, OUTER_LIPS, RIGHT_EYE

# Face width (pixels) in the face-aligned canvas the running mean is kept in.
CANVAS_FACE = 128
# The running mean weighs the last ~MEAN_FRAMES frames (about a second of video).
MEAN_FRAMES = 30
# The change kept is what a low-pass at this share of the face width removes (creases, lip edges; not
# shading or the head's motion).
CHANGE_LOWPASS_SHARE = 0.06
# Share of the target's change added to the swap, and its bound (luma levels; a hand or a cut that the
# tracker does not see as one gives a bounded change for a few frames).
MOTION_GAIN = 1.0
MOTION_CLIP = 40.0
# Landmarks that move with the head but hardly with an expression: eye corners, nose bridge and tip.
STABLE_POINTS: tuple[int, ...] = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4)
# (outer eye corner, face outline point at eye level) of each eye: the crow's feet lie between them.
EYE_CORNERS: tuple[tuple[int, int], ...] = ((33, 127), (263, 356))
# Face Mesh points along each smile (nasolabial) fold and on down to the jaw (the marionette line), from
# beside the nose wing: traced on obama.jpg's deep smile folds (the subject's right side, then the mirror).
SMILE_FOLDS: tuple[tuple[int, ...], ...] = ((203, 206, 216, 212, 210, 169), (423, 426, 436, 432, 430, 394))
# A face further than this share of its width from the one seen before, or resized by more than
# SIZE_JUMP, is a new face (its mean starts again).
MOVE_JUMP = 0.35
SIZE_JUMP = 1.3
# Softening of the photo's crow's feet: Gaussian sigma (share of the face width) and amount (0..1).
SOFTEN_SIGMA_SHARE = 0.012
SOFTEN_AMOUNT = 0.5
# The photo's smile folds are filled in: a grey-level closing (a disc of FOLD_CLOSE_SHARE of the face
# width, so a valley up to twice as wide is filled with the skin beside it) inside a band FOLD_WIDTH_SHARE
# wide along SMILE_FOLDS, blended at FOLD_AMOUNT. A blur would only spread a deep fold's shadow.
FOLD_WIDTH_SHARE = 0.08
FOLD_CLOSE_SHARE = 0.03
FOLD_AMOUNT = 0.9
# The folds come back as the target smiles: all of them when its mouth is as wide as the photo's
# (:func:`smile_width`), none when it is FOLD_SMILE_RANGE of the face width narrower (the samples' talking
# faces are 0.06-0.17 narrower than their smiling photos); smoothed over frames by FOLD_SMOOTHING.
FOLD_SMILE_RANGE = 0.08
FOLD_SMOOTHING = 0.3
# A face's eyes are closing (its eye openings are kept) under this share of their open level, which
# decays by OPEN_DECAY a frame (half in about 3 s at 25 fps) so a face that keeps squinting adapts.
BLINK_SHARE = 0.8
OPEN_DECAY = 0.99


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 float32 similarity (rotation, uniform scale, shift) mapping points ``src`` (N, 2) onto
    ``dst`` (N, 2) in the least-squares sense (Umeyama's closed form)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    norm = float((s * s).sum()) or 1.0
    a = float((s * d).sum()) / norm
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / norm
    rotation = np.array([[a, -b], [b, a]])
    shift = mu_d - rotation @ mu_s
    return np.hstack([rotation, shift[:, None]]).astype(np.float32)


def _pixel(point: np.ndarray) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))


def _fold_marks(mask: np.ndarray, landmarks: np.ndarray, width: float) -> None:
    """Draw (255) each smile fold of ``landmarks`` (SMILE_FOLDS) into ``mask`` as a band ``width`` pixels
    wide."""
    for chain in SMILE_FOLDS:
        points = np.round(landmarks[list(chain)]).astype(np.int32)
        cv2.polylines(mask, [points], False, 255, max(round(width), 1), lineType=cv2.LINE_8)


def _crease_marks(mask: np.ndarray, landmarks: np.ndarray, size: float, folds: bool = True) -> None:
    """Draw (255) the smile folds (unless ``folds`` is False) and a disc beside each eye's outer corner
    (crow's feet) of ``landmarks`` into ``mask``."""
    if folds:
        _fold_marks(mask, landmarks, 0.07 * size)
    for corner, outline in EYE_CORNERS:
        centre = landmarks[corner] + 0.4 * (landmarks[outline] - landmarks[corner])
        cv2.circle(mask, _pixel(centre), max(round(0.07 * size), 1), 255, -1)


def _disk(radius: float) -> np.ndarray:
    radius = max(int(radius), 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _eye_openings(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(mask, [np.round(landmarks[list(ring)]).astype(np.int32)], 255)
    return mask


def motion_weights(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """float32 0..1 weights (``shape`` rows, cols) of where the target's change is added: the mouth
    (outer lips grown by 12 % of the face width), the smile folds, the eyes' surroundings (lids, under
    the eyes, crow's feet; the eye rings grown by 9 %) without the eye openings, faded over ~6 %."""
    size = face_size(landmarks)
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(OUTER_LIPS)]).astype(np.int32)], 255)
    mask = cv2.dilate(mask, _disk(0.12 * size))
    eyes = _eye_openings(shape, landmarks)
    mask |= cv2.dilate(eyes, _disk(0.09 * size))
    _crease_marks(mask, landmarks, size)
    mask &= ~cv2.dilate(eyes, _disk(0.01 * size))
    k = max(int(0.06 * size), 3) | 1
    return cv2.blur(cv2.blur(mask, (k, k)), (k, k)).astype(np.float32) * (1.0 / 255.0)


def soften_creases(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3 uint8; ``landmarks`` (468, 2) in its pixels) with the skin of the crow's feet
    low-passed (SOFTEN_AMOUNT of a Gaussian at SOFTEN_SIGMA_SHARE of the face width), the eyes and lids
    left sharp: the photo's crow's feet do not freeze on the swap; the target's come back through
    :class:`MotionTransfer`. A new image. The smile folds: :func:`fill_folds`."""
    size = face_size(landmarks)
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    _crease_marks(mask, landmarks, size, folds=False)
    mask &= ~cv2.dilate(_eye_openings(mask.shape, landmarks), _disk(0.03 * size))
    k = max(int(0.04 * size), 3) | 1
    alpha = cv2.blur(mask, (k, k)).astype(np.float32) * (SOFTEN_AMOUNT / 255.0)
    soft = cv2.GaussianBlur(image, (0, 0), sigmaX=max(SOFTEN_SIGMA_SHARE * size, 0.5))
    return cv2.blendLinear(soft, image, alpha, 1.0 - alpha)


def fill_folds(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3 uint8; ``landmarks`` (468, 2) in its pixels) with its smile folds filled in: a
    grey-level closing (a disc of FOLD_CLOSE_SHARE of the face width) blended at FOLD_AMOUNT inside a band
    FOLD_WIDTH_SHARE wide along SMILE_FOLDS, the lips left sharp. A smiling photo's folds would otherwise
    stay, frozen, on a target that talks; :meth:`MotionTransfer.fold_share` gives how much of them a
    frame takes back as the target smiles. A new image."""
    size = face_size(landmarks)
    lips = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillPoly(lips, [np.round(landmarks[list(OUTER_LIPS)]).astype(np.int32)], 255)
    folds = np.zeros_like(lips)
    _fold_marks(folds, landmarks, FOLD_WIDTH_SHARE * size)
    folds &= ~cv2.dilate(lips, _disk(0.01 * size))
    filled = cv2.morphologyEx(image, cv2.MORPH_CLOSE, _disk(FOLD_CLOSE_SHARE * size))
    filled = cv2.GaussianBlur(filled, (0, 0), sigmaX=max(SOFTEN_SIGMA_SHARE * size, 0.5))
    k = max(int(0.05 * size), 3) | 1
    alpha = cv2.blur(cv2.blur(folds, (k, k)), (k, k)).astype(np.float32) * (FOLD_AMOUNT / 255.0)
    return cv2.blendLinear(filled, image, alpha, 1.0 - alpha)


def smile_width(landmarks: np.ndarray) -> float:
    """Mouth corner to mouth corner (Face Mesh 61, 291) over the face width: about 0.26-0.37 on the
    samples' talking faces, 0.42-0.44 on their smiling photos."""
    return float(np.linalg.norm(landmarks[61] - landmarks[291])) / max(face_size(landmarks), 1e-6)


@dataclass
class FaceTrack:
    """One target face's state within a job: where it was (frame pixels), its running mean luma in the
    canvas (None until its first frame), frames seen, the call it was last seen at and its eyes' open
    level (a slowly decaying maximum of :func:`media.face.occlusion.eye_openness`) and the share of the
    photo's smile folds it shows (:meth:`MotionTransfer.fold_share`; None before its first frame)."""

    centre: np.ndarray
    size: float
    seen: int
    mean: np.ndarray | None = None
    frames: int = 0
    eyes_open: float = 0.0
    folds: float | None = None


class MotionTransfer:
    """Per-job state of the target's expression change (see the module docstring). One instance per
    source face; it tells the target faces it is given apart by position (``many`` selection), and a
    face that jumps (a cut) starts again.

    ``template``: landmarks (468, 2) that fix the canvas's face shape (the photo's, at any scale).
    """

    def __init__(self, template: np.ndarray) -> None:
        template = np.asarray(template, dtype=np.float32)
        scale = CANVAS_FACE / face_size(template)
        margin = 0.12 * CANVAS_FACE
        self.template = (template - template.min(axis=0)) * scale + margin
        w, h = np.ceil(self.template.max(axis=0) + margin).astype(int)
        self.canvas = (int(w), int(h))
        self.tracks: list[FaceTrack] = []
        self.calls = 0

    def face(self, target: np.ndarray) -> FaceTrack:
        """The track of the face whose landmarks are ``target`` (468, 2, frame pixels): the one seen
        near it before, else a new one. Call once per face and frame."""
        centre, size = target.mean(axis=0), face_size(target)
        self.calls += 1
        self.tracks = [t for t in self.tracks if self.calls - t.seen <= 2 * MEAN_FRAMES]
        for track in self.tracks:
            near = np.linalg.norm(track.centre - centre) < MOVE_JUMP * size
            if near and 1 / SIZE_JUMP < size / track.size < SIZE_JUMP:
                track.centre, track.size, track.seen = centre, size, self.calls
                return track
        track = FaceTrack(centre, size, self.calls)
        self.tracks.append(track)
        return track

    @staticmethod
    def blinking(track: FaceTrack, openness: float) -> bool:
        """Whether the face's eyes (``openness``, lid gap / eye width) are closing: under BLINK_SHARE of
        their open level, which follows the face's widest recent opening (decaying by OPEN_DECAY a
        frame). Face Mesh lids never meet (a full blink of liveportrait_s18 reads 0.27 against 0.43
        open), so a blink is judged against the face's own open eyes, not a fixed threshold."""
        track.eyes_open = max(openness, track.eyes_open * OPEN_DECAY)
        return openness < BLINK_SHARE * track.eyes_open

    @staticmethod
    def fold_share(track: FaceTrack, target_smile: float, photo_smile: float) -> float:
        """0..1: how much of the photo's smile folds the face shows in this frame, from its mouth width
        ``target_smile`` against the photo's ``photo_smile`` (both :func:`smile_width`): 1 as wide, 0 at
        FOLD_SMILE_RANGE narrower, smoothed over the track's frames (FOLD_SMOOTHING)."""
        share = float(np.clip(1.0 - (photo_smile - target_smile) / FOLD_SMILE_RANGE, 0.0, 1.0))
        if track.folds is not None:
            share = track.folds + FOLD_SMOOTHING * (share - track.folds)
        track.folds = share
        return share

    def change(self, track: FaceTrack, gray: np.ndarray, local: np.ndarray) -> np.ndarray | None:
        """float32 luma change (``gray``'s shape) to add to the swap of ``track``'s face, whose landmarks
        are ``local`` (468, 2) in the pixels of ``gray`` (the face region, uint8, at any scale). None on
        the face's first frame."""
        to_canvas = similarity(local[list(STABLE_POINTS)], self.template[list(STABLE_POINTS)])
        canvas = cv2.warpAffine(gray, to_canvas, self.canvas, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        track.frames += 1
        if track.mean is None:
            track.mean = canvas
            return None
        diff = canvas - track.mean
        cv2.accumulateWeighted(canvas, track.mean, max(1.0 / track.frames, 1.0 / MEAN_FRAMES))
        w, h = self.canvas
        factor = max(CHANGE_LOWPASS_SHARE * CANVAS_FACE, 2.0)
        small = (max(round(w / factor), 1), max(round(h / factor), 1))
        low = cv2.resize(cv2.resize(diff, small, interpolation=cv2.INTER_AREA), (w, h),
                         interpolation=cv2.INTER_LINEAR)
        canvas_local = local @ to_canvas[:, :2].T + to_canvas[:, 2]
        change = np.clip((diff - low) * MOTION_GAIN, -MOTION_CLIP, MOTION_CLIP)
        change *= motion_weights((h, w), canvas_local)
        return cv2.warpAffine(change, to_canvas, (gray.shape[1], gray.shape[0]),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0)
