"""Occlusion and expression masks: what of a face must stay as it is in its own image.

Occlusion (glasses, a hand in a glove, a microphone, hair): a skin model of the face's *own* skin —
mean and covariance of (Cr, Cb) and the spread of luma Y (YCrCb, ITU-R BT.601) sampled on the cheeks,
the nose and the forehead, the parts of a face landmarks place reliably — and every pixel inside the
face outline whose chroma is further than ``SKIN_SIGMA`` (Mahalanobis distance) from it, or darker than
``DARK_SHARE`` of its mean luma, is "not skin". Eyebrows, eyes, nostrils and lips are not skin either but belong to
the face; they are exempt (eyes and the mouth opening are handled as expression below), except an eye
that is mostly dark (over ``COVERED_EYE_DARK`` of its grown ring darker than skin can be: sunglasses,
the dark rims of glasses, a hand): an eye has a bright white, so such an eye is covered and stays. The rest is
cleaned (opening removes specks, closing fills gaps) and feathered. Landmark visibility comes from the
mesh warp: back-facing triangles (a turned cheek) are culled there (:func:`media.face.warp.facing_triangles`).

Used both ways: on the target frame (what covers the target's face stays in front of the swap) and on
the source photo (what covers the photo's face, e.g. a microphone, is never pasted; there a patch
enclosed by the face's skin is the face: :func:`photo_visible_mask`).

Expression: the mouth opening of the target frame is always kept (teeth, tongue). The eyes' shape always
follows the target (the mesh warp puts the photo's lids on the target's), and the eye openings themselves
(iris and white) are the target's when its eyes close: a blink against the face's own open eyes over
time (:meth:`media.face.motion.MotionTransfer.blinking`), or shut (see media.face.swapper.EYE_SHUT);
a photo's open eye squeezed shut would look pasted. An open target eye keeps the photo's iris, which
carries much of its identity (measured with bench/swap_quality.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from media.face.mesh import FACE_OVAL, INNER_LIPS, face_size

# Ordered rings of MediaPipe Face Mesh (FACEMESH_RIGHT_EYE / LEFT_EYE / LIPS / *_EYEBROW written out).
RIGHT_EYE: tuple[int, ...] = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE: tuple[int, ...] = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
OUTER_LIPS: tuple[int, ...] = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37,
                               39, 40, 185)
RIGHT_BROW: tuple[int, ...] = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW: tuple[int, ...] = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
# The nose's lower part around the nostrils (wings, base, tip): dark nostrils are the face, not an occluder.
NOSE_BOTTOM: tuple[int, ...] = (48, 64, 98, 97, 2, 326, 327, 294, 278, 4)
# Skin sample patches (triangles of landmark indices): cheeks, nose bridge, forehead centre.
SKIN_PATCHES: tuple[tuple[int, int, int], ...] = (
    (50, 101, 205), (280, 330, 425), (6, 197, 195), (151, 108, 337), (117, 118, 50), (346, 347, 280),
)
SKIN_SIGMA = 4.0
# "Too dark to be this face's skin, even in shadow": luma under this share of the skin's mean luma (0.45
# took the shadowed half of a side-lit face, short_hamilton_clip, for an occluder; black glasses, a
# microphone are under 0.2).
DARK_SHARE = 0.3
# Share of an eye's grown ring darker than DARK_SHARE x the skin's luma above which the eye is covered
# (open and closed eyes of the samples: 0.04-0.49, one 0.64 on a 40 px face in dim light).
COVERED_EYE_DARK = 0.7
# Glasses' rims (:func:`glasses_rims`): working face width (pixels), black-hat kernel and line length
# (shares of the face width), contrast (luma levels), and the landmark (nose middle) the eye band ends at.
RIM_FACE = 240
RIM_KERNEL = 0.025
RIM_LENGTH = 0.15
RIM_CONTRAST = 18
RIM_BAND_BOTTOM = 5
# Share of the columns between the inner eye corners a bridge must cross.
RIM_BRIDGE = 0.6
# A hole in the skin that is brighter than the skin's mean luma and paler (its chroma nearer neutral grey),
# enclosed by the face (not touching its outline) and smaller than HIGHLIGHT_SHARE of the face width
# squared is a highlight on the skin (shine on a nose bridge or a forehead, out of the chroma model since
# it is near white), not an occluder (a strand of hair is as saturated as skin): kept,
# the target's paler skin there would show through the swap as a bright spot (liveportrait_s18).
HIGHLIGHT_SHARE = 0.15
# In the source photo likewise (a shadowed cheek, stubble are the photo's face; a black microphone is far
# darker).
PHOTO_DARK_SHARE = 0.3


def _poly(mask: np.ndarray, points: np.ndarray, value: int = 255) -> None:
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], value)


def _disk(radius: int) -> np.ndarray:
    radius = max(int(radius), 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def skin_model(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(CrCb mean (2,), inverse covariance (2, 2), luma mean, luma std) of the face's skin patches in
    ``image`` (H, W, 3 RGB uint8; ``landmarks`` (468, 2) in its pixels), or None under 20 pixels."""
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    for tri in SKIN_PATCHES:
        _poly(mask, landmarks[list(tri)])
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    samples = ycc[mask > 0].astype(np.float32)
    if len(samples) < 20:
        return None
    chroma = samples[:, 1:]
    (a, b), (_, d) = np.cov(chroma, rowvar=False) + np.eye(2) * 4.0  # >= 2 levels of spread
    det = a * d - b * b  # closed-form 2x2 inverse (np.linalg.inv costs ~ms in a busy BLAS pool)
    inv = np.array([[d, -b], [-b, a]], dtype=np.float32) / np.float32(det)
    return chroma.mean(axis=0), inv, float(samples[:, 0].mean()), float(samples[:, 0].std() + 4.0)


def face_parts_mask(shape: tuple[int, int], landmarks: np.ndarray, grow: float = 0.02) -> np.ndarray:
    """uint8 0/255 mask of the eyebrows, eyes, nostrils and lips (not skin, but the face), grown by
    ``grow`` x the face size."""
    mask = np.zeros(shape, dtype=np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE, OUTER_LIPS, NOSE_BOTTOM):
        _poly(mask, landmarks[list(ring)])
    size = face_size(landmarks)
    for brow in (RIGHT_BROW, LEFT_BROW):
        cv2.polylines(mask, [np.round(landmarks[list(brow)]).astype(np.int32)], True, 255,
                      thickness=max(int(0.03 * size), 1))
        _poly(mask, landmarks[list(brow)])
    return cv2.dilate(mask, _disk(grow * size))


def visible_skin_mask(image: np.ndarray, landmarks: np.ndarray, dark_share: float = DARK_SHARE) -> np.ndarray:
    """uint8 0/255: 255 where the face in ``image`` (RGB uint8) is not covered (skin or a face part),
    0 where something covers it (see the module docstring; ``dark_share``: luma under this share of
    the skin's is "not skin"). Outside the face outline: 0."""
    h, w = image.shape[:2]
    outline = np.zeros((h, w), dtype=np.uint8)
    _poly(outline, landmarks[list(FACE_OVAL)])
    model = skin_model(image, landmarks)
    if model is None:
        return outline
    mean, inv_cov, y_mean, _y_std = model
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    d = ycc[..., 1:] - mean
    dist2 = d[..., 0] * (inv_cov[0, 0] * d[..., 0] + inv_cov[0, 1] * d[..., 1]) + \
        d[..., 1] * (inv_cov[1, 0] * d[..., 0] + inv_cov[1, 1] * d[..., 1])
    dark = ycc[..., 0] < dark_share * y_mean
    skin = (dist2 <= SKIN_SIGMA ** 2) & ~dark
    parts = face_parts_mask((h, w), landmarks)
    size = face_size(landmarks)
    for ring in (RIGHT_EYE, LEFT_EYE):
        eye = np.zeros((h, w), dtype=np.uint8)
        _poly(eye, landmarks[list(ring)])
        eye = cv2.dilate(eye, _disk(0.03 * size))
        inside = eye > 0
        if inside.any() and float(dark[inside].mean()) > COVERED_EYE_DARK:
            parts[inside] = 0
    visible = (skin.astype(np.uint8) * 255) | parts
    visible = cv2.morphologyEx(visible, cv2.MORPH_OPEN, _disk(0.012 * size))
    visible = cv2.morphologyEx(visible, cv2.MORPH_CLOSE, _disk(0.02 * size))
    visible &= outline
    _keep_highlights(visible, outline, ycc, mean, y_mean, size)
    return visible


def _keep_highlights(visible: np.ndarray, outline: np.ndarray, ycc: np.ndarray, skin_chroma: np.ndarray,
                     skin_luma: float, size: float) -> None:
    """Mark as visible (in place) the holes of ``visible`` that are highlights on the skin: enclosed by
    the face (not touching ``outline``'s edge), under (HIGHLIGHT_SHARE x ``size``)^2 pixels, mean luma
    (``ycc`` (H, W, 3) float32 YCrCb) above ``skin_luma`` and mean chroma nearer neutral (128, 128) than
    ``skin_chroma``."""
    holes = (outline > 0) & (visible == 0)
    if not holes.any():
        return
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=8)
    edge = np.unique(labels[(outline > 0) & (cv2.erode(outline, _disk(1)) == 0)])
    limit = (HIGHLIGHT_SHARE * size) ** 2
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] > limit or label in edge:
            continue
        hole = labels == label
        pixels = ycc[hole]
        paler = np.abs(pixels[:, 1:].mean(axis=0) - 128.0).sum() < np.abs(skin_chroma - 128.0).sum()
        if float(pixels[:, 0].mean()) > skin_luma and paler:
            visible[hole] = 255


def glasses_rims(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask (``image``'s rows, cols) of thin dark lines across the eye band that no face
    part explains: the rims and bridge of glasses, too thin for the skin model (its closing fills them).

    Done at most RIM_FACE pixels across the face: a black-hat (closing minus image) at RIM_KERNEL of the
    face picks dark lines thinner than it; what is darker than RIM_CONTRAST luma levels there, outside
    the eyes, brows and nostrils, inside the face outline (less 4 % of the face: not its edge), between
    the brows' top and the nose's middle, and forms a line
    longer than RIM_LENGTH of the face (crow's feet and lashes are shorter) is a rim — and only when a
    bridge crosses RIM_BRIDGE of the columns between the inner eye corners (no bridge: no glasses; a
    wrinkled face's long crow's feet are no rims). Grown by a pixel at the working scale."""
    h, w = image.shape[:2]
    size = face_size(landmarks)
    scale = min(1.0, RIM_FACE / size)
    band_top = float(landmarks[list(RIGHT_BROW + LEFT_BROW), 1].min()) - 0.02 * size
    band_bottom = float(landmarks[RIM_BAND_BOTTOM, 1])
    y0, y1 = max(int(band_top), 0), min(int(np.ceil(band_bottom)), h)
    x0, x1 = max(int(landmarks[:, 0].min()), 0), min(int(np.ceil(landmarks[:, 0].max())), w)
    out = np.zeros((h, w), dtype=np.uint8)
    if y1 - y0 < 4 or x1 - x0 < 4:
        return out
    strip = image[y0:y1, x0:x1]
    small = cv2.resize(strip, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else strip
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    k = max(int(RIM_KERNEL * size * scale), 3) | 1
    lines = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    local = (landmarks - (x0, y0)) * scale
    parts = np.zeros(gray.shape, dtype=np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE, NOSE_BOTTOM, RIGHT_BROW, LEFT_BROW):
        _poly(parts, local[list(ring)])
    parts = cv2.dilate(parts, _disk(0.02 * size * scale))
    inside = np.zeros(gray.shape, dtype=np.uint8)
    _poly(inside, local[list(FACE_OVAL)])
    inside = cv2.erode(inside, _disk(0.04 * size * scale))
    candidates = ((lines > RIM_CONTRAST) & (parts == 0) & (inside > 0)).astype(np.uint8)
    # Glasses have a bridge: a dark line across most of the columns between the inner eye corners,
    # above the nose's middle (a frown line is vertical; crow's feet and lid creases are beside the eyes).
    left, right = sorted((float(local[133, 0]), float(local[362, 0])))
    top = max(int(local[list(RIGHT_BROW + LEFT_BROW), 1].min()), 0)
    bridge = candidates[top:max(int(local[RIM_BAND_BOTTOM, 1]), top + 1), int(left):int(np.ceil(right)) + 1]
    if bridge.size == 0 or bridge.any(axis=0).mean() < RIM_BRIDGE:
        return out
    _, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    long = np.flatnonzero(np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
                          > RIM_LENGTH * size * scale)
    long = long[long > 0]
    if len(long) == 0:
        return out
    rims = np.isin(labels, long).astype(np.uint8) * 255
    rims = cv2.dilate(rims, _disk(1))
    if scale < 1.0:
        rims = cv2.resize(rims, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out[y0:y1, x0:x1] = (rims > 0).astype(np.uint8) * 255
    return out


def photo_visible_mask(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """:func:`visible_skin_mask` for the source photo: what covers a photo's face (a microphone, a hand)
    comes in from outside it, so a "not skin" patch enclosed by the face's own skin (a moustache,
    stubble, a mole, a shadow) is the face and is kept; skin in shadow is kept down to PHOTO_DARK_SHARE
    of the skin's luma. uint8 0/255, 0 outside the face outline."""
    visible = visible_skin_mask(image, landmarks, dark_share=PHOTO_DARK_SHARE)
    outline = np.zeros(visible.shape, dtype=np.uint8)
    _poly(outline, landmarks[list(FACE_OVAL)])
    _, labels = cv2.connectedComponents(cv2.bitwise_not(visible), connectivity=4)
    outside = np.unique(labels[outline == 0])
    enclosed = (visible == 0) & (outline > 0) & ~np.isin(labels, outside)
    visible[enclosed] = 255
    return visible


def eye_openness(landmarks: np.ndarray) -> float:
    """Mean lid gap / eye width of both eyes (0 = closed, ~0.3 = wide open)."""
    ratios = []
    for ring in (RIGHT_EYE, LEFT_EYE):
        pts = landmarks[list(ring)]
        width = float(np.linalg.norm(pts[0] - pts[8]))
        ratios.append(float(np.linalg.norm(pts[4] - pts[12])) / width if width > 0 else 0.0)
    return float(np.mean(ratios))


def expression_mask(shape: tuple[int, int], landmarks: np.ndarray, eye_shrink: float = 0.008,
                    mouth_grow: float = 0.01, eyes: bool = True) -> np.ndarray:
    """uint8 0/255 mask of the eye openings (the lid aperture shrunk by ``eye_shrink`` x the face size:
    iris and white, not the lids or lashes, which carry the photo's identity) and the mouth opening (grown
    by ``mouth_grow``) of ``landmarks`` (468, 2): the target keeps these pixels (blinks, gaze, teeth,
    tongue). ``eyes`` False leaves the eyes out."""
    size = face_size(landmarks)
    mouth = np.zeros(shape, dtype=np.uint8)
    _poly(mouth, landmarks[list(INNER_LIPS)])
    mask = cv2.dilate(mouth, _disk(mouth_grow * size))
    if eyes:
        eye_mask = np.zeros(shape, dtype=np.uint8)
        for ring in (RIGHT_EYE, LEFT_EYE):
            _poly(eye_mask, landmarks[list(ring)])
        mask |= cv2.erode(eye_mask, _disk(eye_shrink * size))
    return mask
