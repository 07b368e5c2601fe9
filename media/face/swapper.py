"""Swapping one face of a frame: warp the source face onto the target mesh, match its colour, clone it in.

The source face is prepared once per job (:func:`prepare_source`): a crop around the face, an image
pyramid so a small target face is sampled from a small source (no aliasing), and the Delaunay
triangulation of its 468 landmarks. :func:`swap_face` then changes only the pixels inside the target's
face outline (minus the open mouth, so the target's own teeth and tongue stay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from media.face.blend import alpha_blend, feather_mask, poisson_correct
from media.face.colour import transfer_colour
from media.face.landmarks import Face
from media.face.mesh import INNER_LIPS, face_size, mouth_openness, swap_outline, triangulate
from media.face.occlusion import expression_mask, eye_openness, visible_skin_mask
from media.face.warp import Region, region_around, warp_maps

BlendMode = Literal["seamless", "feather"]
# Mouth openness (gap / width) above which the target's own mouth opening is kept.
MOUTH_OPEN_THRESHOLD = 0.06
# Source pyramid: stop halving when the face would be narrower than this (pixels).
MIN_PYRAMID_FACE = 48
# Geometry is computed on a grid at most this many pixels across the face (then upsampled).
WORK_FACE_SIZE = 160
# Share of the fine detail (creases, wrinkles, lip texture) taken from the target frame around the mouth
# and cheeks, so it moves with the target's expression instead of freezing the photo's.
MOTION_DETAIL = 0.3
# The fine detail taken from the target is what a low-pass at this share of the face size removes (lip
# texture, small creases; not the skin tone).
LOWPASS_SHARE = 0.04
# Along the smile folds and beside the eyes (where a smile creases the face) this share of the coarser
# detail (low-pass at CREASE_LOWPASS_SHARE of the face: the folds themselves) is the target's.
CREASE_DETAIL = 0.5
CREASE_LOWPASS_SHARE = 0.055
# Face Mesh points bounding the lower face (cheeks to chin) where the target's detail is kept.
LOWER_FACE: tuple[int, ...] = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365,
                               397, 288, 361, 323, 454, 447, 345, 352, 280, 425, 266, 329, 4, 100, 36,
                               205, 50, 123, 116, 227)

# (outer eye corner, face outline point at eye level) of each eye, for the crow's-feet detail.
EYE_CORNERS: tuple[tuple[int, int], ...] = ((33, 127), (263, 356))
# (nose wing, mouth corner) of each smile (nasolabial) fold, and the nose tip they point away from.
SMILE_FOLDS: tuple[tuple[int, int], ...] = ((48, 61), (278, 291))
NOSE_TIP = 4
# Whether the crow's-feet discs are in the crease tier (off: measured with bench/swap_quality.py, the eye
# corners carry much of the photo's identity).
EYE_CREASES = False


@dataclass(frozen=True)
class SourceFace:
    """A prepared source face: pyramid levels (image RGB uint8, landmarks (468, 2)) largest first,
    the triangles (M, 3) shared by every level and every target, and ``visible``: a uint8 0/255 mask per
    level of the photo's face that nothing covers (a microphone or a hand in the photo is never pasted;
    see :mod:`media.face.occlusion`)."""

    levels: tuple[tuple[np.ndarray, np.ndarray], ...]
    triangles: np.ndarray
    visible: tuple[np.ndarray, ...] = ()

    def level_for(self, target_size: float) -> tuple[np.ndarray, np.ndarray]:
        """The smallest level whose face is at least ``target_size`` pixels wide (else the largest)."""
        return self.levels[self._level_index(target_size)]

    def _level_index(self, target_size: float) -> int:
        chosen = 0
        for k, (_, landmarks) in enumerate(self.levels):
            if face_size(landmarks) >= target_size:
                chosen = k
        return chosen

    def visible_for(self, target_size: float) -> np.ndarray | None:
        """The visibility mask of :meth:`level_for`'s level, or None when not computed."""
        return self.visible[self._level_index(target_size)] if self.visible else None


def prepare_source(rgb: np.ndarray, face: Face) -> SourceFace:
    """Prepare ``face`` of the source image ``rgb`` (H, W, 3) for swapping (see :class:`SourceFace`)."""
    size = face_size(face.landmarks)
    h, w = rgb.shape[:2]
    region = region_around(face.landmarks, w, h, margin=int(0.15 * size) + 4)
    if region is None:
        raise ValueError("the source face lies outside its image")
    image = np.ascontiguousarray(rgb[region.slices()])
    landmarks = face.landmarks - np.array([region.x0, region.y0], dtype=np.float32)
    levels = [(image, landmarks)]
    visible = [visible_skin_mask(image, landmarks) | expression_mask(image.shape[:2], landmarks)]
    while face_size(landmarks) / 2 >= MIN_PYRAMID_FACE:
        image = cv2.pyrDown(image)
        landmarks = landmarks / 2.0
        levels.append((image, landmarks))
        visible.append(cv2.resize(visible[-1], (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA))
    return SourceFace(levels=tuple(levels), triangles=_without_mouth(triangulate(face.landmarks), face.landmarks),
                      visible=tuple(visible))


def _without_mouth(triangles: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Drop the triangles inside the source's mouth opening: a smile's teeth squeezed into a closed
    target mouth would show as dark streaks; left out, the target's own lips show there instead."""
    lips = landmarks[list(INNER_LIPS)].astype(np.float32)
    centroids = landmarks[triangles].mean(axis=1)
    inside = np.array([cv2.pointPolygonTest(lips, (float(x), float(y)), False) > 0 for x, y in centroids])
    return triangles[~inside]


def face_mask(target: np.ndarray, shape: tuple[int, int], coverage: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask of ``shape`` (rows, cols) covering the target's face outline (``target`` in the
    mask's pixel coordinates), within the warp's coverage, without the open mouth."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(swap_outline(target)).astype(np.int32)], 255)
    mask &= coverage
    if mouth_openness(target) > MOUTH_OPEN_THRESHOLD:
        mouth = np.zeros_like(mask)
        cv2.fillPoly(mouth, [np.round(target[list(INNER_LIPS)]).astype(np.int32)], 255)
        mouth = _grow(mouth, max(1, int(0.01 * face_size(target))))
        mask &= ~mouth
    return mask


def _motion_detail(warped: np.ndarray, roi: np.ndarray, local: np.ndarray, grid: tuple[int, int],
                   size: float, scale: float, full: tuple[int, int]) -> np.ndarray:
    """``warped`` with part of its detail replaced by the target's, in two tiers: in the lower face,
    MOTION_DETAIL of the fine detail (what a low-pass at LOWPASS_SHARE of the face removes: lip texture,
    small creases); along the smile folds and beside the eyes' outer corners, CREASE_DETAIL of the
    coarser detail (low-pass at CREASE_LOWPASS_SHARE: the folds themselves). Creases follow the target's
    expression instead of freezing the photo's, while the rest of the photo's detail (its identity) stays."""
    fine_weight, crease_weight = _detail_weights(local, grid, size * scale)
    if scale < 1.0:
        fine_weight = cv2.resize(fine_weight, full, interpolation=cv2.INTER_LINEAR)
        crease_weight = cv2.resize(crease_weight, full, interpolation=cv2.INTER_LINEAR)
    h, w = warped.shape[:2]

    def detail(share: float) -> np.ndarray:
        # Low-pass by an area downscale and a linear upscale (cheaper than a blur).
        factor = max(share * size, 2.0)
        small = (max(round(w / factor), 1), max(round(h / factor), 1))

        def lowpass(image: np.ndarray) -> np.ndarray:
            return cv2.resize(cv2.resize(image, small, interpolation=cv2.INTER_AREA), (w, h),
                              interpolation=cv2.INTER_LINEAR)

        return cv2.subtract(cv2.subtract(roi, lowpass(roi), dtype=cv2.CV_16S),
                            cv2.subtract(warped, lowpass(warped), dtype=cv2.CV_16S), dtype=cv2.CV_16S)

    fine = cv2.multiply(detail(LOWPASS_SHARE), cv2.cvtColor(fine_weight, cv2.COLOR_GRAY2RGB),
                        scale=MOTION_DETAIL / 255.0, dtype=cv2.CV_16S)
    creases = cv2.multiply(detail(CREASE_LOWPASS_SHARE), cv2.cvtColor(crease_weight, cv2.COLOR_GRAY2RGB),
                           scale=CREASE_DETAIL / 255.0, dtype=cv2.CV_16S)
    return cv2.add(warped, cv2.add(fine, creases, dtype=cv2.CV_16S), dtype=cv2.CV_8U)


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))


def _shrink(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))


# The target's eye openings are kept when its eyes are less open than this share of the photo's.
EYE_CLOSING = 0.75


def occlusion_masks(roi_small: np.ndarray, local: np.ndarray, source_eyes: float = 0.0) -> np.ndarray:
    """uint8 0/255 mask (grid-sized) of the target face that the swap may change: not covered by
    anything (glasses, hands, a microphone) and outside its mouth opening, and outside its eye openings
    when its eyes are less open than EYE_CLOSING x the photo's (``source_eyes``, see
    :func:`media.face.occlusion.eye_openness`)."""
    keep = visible_skin_mask(roi_small, local)
    eyes = eye_openness(local) < EYE_CLOSING * source_eyes
    return keep & ~expression_mask(keep.shape, local, eyes=eyes)


def _detail_weights(local: np.ndarray, shape: tuple[int, int], size: float) -> tuple[np.ndarray, np.ndarray]:
    """uint8 0..255 weights (grid-sized) of :func:`_motion_detail`'s two tiers: (lower face minus the
    crease bands, crease bands: the smile folds from the nose wings past the mouth corners and a disc
    beside each eye's outer corner), each fading out over ~12 % of the face (two box blurs, close to a
    Gaussian and cheaper)."""
    lower = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(lower, [np.round(local[list(LOWER_FACE)]).astype(np.int32)], 255)
    bands = np.zeros(shape, dtype=np.uint8)
    nose_tip = local[NOSE_TIP]
    for wing, corner in SMILE_FOLDS:
        end = local[corner] + 0.3 * (local[corner] - nose_tip)
        cv2.line(bands, _pixel(local[wing]), _pixel(end), 255, max(round(0.08 * size), 1))
    if EYE_CREASES:
        for corner, outline in EYE_CORNERS:
            centre = local[corner] + 0.4 * (local[outline] - local[corner])
            cv2.circle(bands, _pixel(centre), max(round(0.07 * size), 1), 255, -1)
    k = max(int(0.12 * size), 3) | 1
    lower = cv2.blur(cv2.blur(lower, (k, k)), (k, k))
    bands = cv2.blur(cv2.blur(bands, (k // 2 | 1, k // 2 | 1)), (k // 2 | 1, k // 2 | 1))
    return cv2.subtract(lower, bands), bands


def _pixel(point: np.ndarray) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))


def swap_face(frame: np.ndarray, source: SourceFace, target: np.ndarray, blend: BlendMode = "seamless",
              colour_strength: float = 1.0, occlusion: bool = True) -> Region | None:
    """Replace the face whose landmarks are ``target`` (468, 2) in ``frame`` (H, W, 3 RGB uint8, changed
    in place) with the source face. Returns the changed region, or None when the face is off-frame.

    Geometry (warp maps, mask, feather) is computed on a grid at most WORK_FACE_SIZE pixels across the
    face and upsampled (the warp is piecewise linear, so this is near exact); the source is sampled
    and blended at full resolution.
    """
    h, w = frame.shape[:2]
    size = face_size(target)
    region = region_around(target, w, h, margin=int(0.05 * size) + 4)
    if region is None:
        return None
    scale = min(1.0, WORK_FACE_SIZE / size)
    grid = (max(round(region.height * scale), 4), max(round(region.width * scale), 4))
    sy, sx = grid[0] / region.height, grid[1] / region.width
    # Pixel centres of the grid in full-resolution coordinates match cv2.resize's (half-pixel) convention.
    local = (target - np.array([region.x0, region.y0], dtype=np.float32) + 0.5) * (sx, sy) - 0.5
    image, landmarks = source.level_for(size)
    coords, coverage = warp_maps(landmarks, local, source.triangles, Region(0, 0, grid[1], grid[0]))
    mask_small = face_mask(local, grid, coverage)
    # The colour transfer and the Poisson solve use the whole face area; what the occlusion masks leave
    # out is only left out of the final blend (holes in a Poisson region pull its colours to the frame's).
    outer_small = _shrink(mask_small, max(1, int(0.02 * size * scale)))
    roi = frame[region.slices()]
    if occlusion:
        roi_small = cv2.resize(roi, (grid[1], grid[0]), interpolation=cv2.INTER_AREA) if scale < 1.0 else roi
        mask_small &= occlusion_masks(roi_small, local, eye_openness(source.levels[0][1]))
        source_visible = source.visible_for(size)
        if source_visible is not None:
            mask_small &= cv2.remap(source_visible, coords, None, interpolation=cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    mask_small = _shrink(mask_small, max(1, int(0.02 * size * scale)))
    if cv2.countNonZero(mask_small) < 16:
        return None
    full = (region.width, region.height)
    if scale < 1.0:
        coords = cv2.resize(coords, full, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(outer_small, full, interpolation=cv2.INTER_NEAREST)
    else:
        mask = outer_small
    warped = cv2.remap(image, coords, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if colour_strength > 0:
        warped = transfer_colour(warped, roi, mask, colour_strength)
    warped = _motion_detail(warped, roi, local, grid, size, scale, full)
    feather = 0.015 if blend == "seamless" else 0.04
    if blend == "seamless":
        warped = poisson_correct(warped, roi, mask)
    alpha = feather_mask(mask_small, max(1, int(feather * size * scale)))
    if scale < 1.0:
        alpha = cv2.resize(alpha, full, interpolation=cv2.INTER_LINEAR)
    frame[region.slices()] = alpha_blend(warped, roi, alpha)
    return region
