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
from media.face.motion import MotionTransfer, fill_folds, smile_width, soften_creases
from media.face.occlusion import (
    LEFT_EYE,
    RIGHT_EYE,
    expression_mask,
    eye_openness,
    glasses_rims,
    photo_visible_mask,
    visible_skin_mask,
)
from media.face.warp import Region, region_around, warp_maps

BlendMode = Literal["seamless", "feather"]
# Mouth openness (gap / width) above which the target's own mouth opening is kept.
MOUTH_OPEN_THRESHOLD = 0.06
# Holes in the swap (occluders, the open mouth) grow by this share of the face width before blending.
HOLE_GROW = 0.01
# Source pyramid: stop halving when the face would be narrower than this (pixels).
MIN_PYRAMID_FACE = 48
# Geometry is computed on a grid at most this many pixels across the face (then upsampled).
WORK_FACE_SIZE = 160
# How far the photo's face colour statistics (L*a*b* mean and spread inside the face, media.face.colour) move
# to the target's: halfway keeps the photo's skin tone and the contrast of its features (brows, eyes, skin
# texture), while the gradient-domain blend still takes the target's lighting at the face's edge. The full
# transfer flattened the photo's contrast to the target's: retalking_face_2 x obama.jpg was closer to the
# photo than to the original face in 10 % of frames (bench/swap_quality.py), halfway 90 %.
COLOUR_STRENGTH = 0.5


@dataclass(frozen=True)
class SourceFace:
    """A prepared source face: pyramid levels (image RGB uint8, landmarks (468, 2)) largest first,
    the triangles (M, 3) shared by every level and every target, and ``visible``: a uint8 0/255 mask per
    level of the photo's face that nothing covers (a microphone or a hand in the photo is never pasted;
    see :mod:`media.face.occlusion`), ``motion``: the per-job state of the target's expression change
    (mutable; one SourceFace per job and source face), and ``folds``: per level, int16 (H, W, 3) of the
    photo's smile folds that the levels' images have filled in (:func:`media.face.motion.fill_folds`;
    added back as the target smiles), with ``smile``, the photo's :func:`media.face.motion.smile_width`."""

    levels: tuple[tuple[np.ndarray, np.ndarray], ...]
    triangles: np.ndarray
    visible: tuple[np.ndarray, ...] = ()
    motion: MotionTransfer | None = None
    folds: tuple[np.ndarray, ...] = ()
    smile: float = 0.0

    def level_for(self, target_size: float) -> tuple[np.ndarray, np.ndarray]:
        """The smallest level whose face is at least ``target_size`` pixels wide (else the largest)."""
        return self.levels[self._level_index(target_size)]

    def _level_index(self, target_size: float) -> int:
        chosen = 0
        for k, (_, landmarks) in enumerate(self.levels):
            if face_size(landmarks) >= target_size:
                chosen = k
        return chosen

    def folds_for(self, target_size: float) -> np.ndarray | None:
        """The smile folds of :meth:`level_for`'s level (int16), or None when not filled in."""
        return self.folds[self._level_index(target_size)] if self.folds else None

    def visible_for(self, target_size: float) -> np.ndarray | None:
        """The visibility mask of :meth:`level_for`'s level, or None when not computed."""
        return self.visible[self._level_index(target_size)] if self.visible else None


def prepare_source(rgb: np.ndarray, face: Face, motion: bool = True) -> SourceFace:
    """Prepare ``face`` of the source image ``rgb`` (H, W, 3) for swapping (see :class:`SourceFace`).
    ``motion``: the photo's expression creases are taken out (crow's feet softened,
    :func:`media.face.motion.soften_creases`; smile folds filled in, :func:`media.face.motion.fill_folds`,
    and given back per frame as much as the target smiles) and the target's expression change is added per
    frame (:class:`media.face.motion.MotionTransfer`), so the expression follows the target."""
    size = face_size(face.landmarks)
    h, w = rgb.shape[:2]
    region = region_around(face.landmarks, w, h, margin=int(0.15 * size) + 4)
    if region is None:
        raise ValueError("the source face lies outside its image")
    image = np.ascontiguousarray(rgb[region.slices()])
    landmarks = face.landmarks - np.array([region.x0, region.y0], dtype=np.float32)
    visible = [photo_visible_mask(image, landmarks) | expression_mask(image.shape[:2], landmarks)]
    folds: list[np.ndarray] = []
    if motion:
        image = soften_creases(image, landmarks)
        filled = fill_folds(image, landmarks)
        folds.append(cv2.subtract(image, filled, dtype=cv2.CV_16S))
        image = filled
    levels = [(image, landmarks)]
    while face_size(landmarks) / 2 >= MIN_PYRAMID_FACE:
        image = cv2.pyrDown(image)
        landmarks = landmarks / 2.0
        levels.append((image, landmarks))
        visible.append(cv2.resize(visible[-1], (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA))
        if folds:
            folds.append(cv2.pyrDown(folds[-1]))
    return SourceFace(levels=tuple(levels), triangles=_without_mouth(triangulate(face.landmarks), face.landmarks),
                      visible=tuple(visible), motion=MotionTransfer(landmarks) if motion else None,
                      folds=tuple(folds), smile=smile_width(face.landmarks))


def _without_mouth(triangles: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Drop the triangles inside the source's mouth opening: a smile's teeth squeezed into a closed
    target mouth would show as dark streaks; left out, the target's own lips show there instead."""
    lips = landmarks[list(INNER_LIPS)].astype(np.float32)
    centroids = landmarks[triangles].mean(axis=1)
    inside = np.array([cv2.pointPolygonTest(lips, (float(x), float(y)), False) > 0 for x, y in centroids])
    return triangles[~inside]


def outline_mask(target: np.ndarray, shape: tuple[int, int], coverage: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask of ``shape`` (rows, cols) covering the target's face outline (``target`` in the
    mask's pixel coordinates), within the warp's coverage."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(swap_outline(target)).astype(np.int32)], 255)
    return mask & coverage


def mouth_opening(target: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 0/255 mask of the target's mouth opening grown by 1 % of the face (all 0 when the mouth
    is less open than MOUTH_OPEN_THRESHOLD)."""
    mouth = np.zeros(shape, dtype=np.uint8)
    if mouth_openness(target) > MOUTH_OPEN_THRESHOLD:
        cv2.fillPoly(mouth, [np.round(target[list(INNER_LIPS)]).astype(np.int32)], 255)
        mouth = _grow(mouth, max(1, int(0.01 * face_size(target))))
    return mouth


def face_mask(target: np.ndarray, shape: tuple[int, int], coverage: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask of ``shape`` (rows, cols) covering the target's face outline (``target`` in the
    mask's pixel coordinates), within the warp's coverage, without the open mouth."""
    return outline_mask(target, shape, coverage) & ~mouth_opening(target, shape)


def _soft_keep(keep: np.ndarray, radius: int) -> np.ndarray:
    """float32 0..1 from a 0/255 mask of what the swap may change: its holes (an occluder, the mouth
    opening) grown by ``radius`` pixels and their edges blurred over about as much. Unlike the outline's
    feather, a hole grows only by ``radius``: the photo's face around it stays."""
    if cv2.countNonZero(keep) == keep.size:
        return np.ones(keep.shape, dtype=np.float32)
    soft = cv2.GaussianBlur(_shrink(keep, radius), (0, 0), sigmaX=radius / 2.0 + 0.5)
    return soft.astype(np.float32) * (1.0 / 255.0)


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))


def _shrink(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))


# The target's eyes are kept when they are less open than EYE_CLOSING x the photo's and than EYE_SHUT
# (lid gap / eye width: a blink or a squint; open eyes of the samples are 0.21-0.47). An open target eye
# keeps the photo's iris and eye shape, much of its identity (bench/swap_quality.py: with the relative
# test alone, a wide-eyed photo onto retalking_face_2 kept the target's eyes in every frame).
EYE_CLOSING = 0.75
EYE_SHUT = 0.16
# A closing target eye is kept with its lids and lashes: the lid aperture grown by this share of the face
# width (a photo's open eye squeezed into a closing one shows its iris and lid rim as stripes), faded over
# as much again, and recoloured to the swap's skin there (EYE_TONE_RING: the skin band around it, from
# EYE_TONE_RING[0] to [1] x the face width past the aperture), so the target's paler lids do not show.
EYE_KEEP_GROW = 0.03
EYE_TONE_RING = (0.04, 0.08)


def eyes_closing(local: np.ndarray, source_eyes: float, blinking: bool = False) -> bool:
    """Whether the target face whose landmarks are ``local`` (468, 2) keeps its own eyes: ``blinking``
    (judged against the face's own open eyes over time, :meth:`media.face.motion.MotionTransfer.blinking`)
    or less open than EYE_CLOSING x the photo's (``source_eyes``, see
    :func:`media.face.occlusion.eye_openness`) and than EYE_SHUT."""
    return blinking or eye_openness(local) < min(EYE_CLOSING * source_eyes, EYE_SHUT)


def occlusion_masks(roi_small: np.ndarray, local: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask (grid-sized) of the target face that the swap may change: not covered by
    anything (glasses, hands, a microphone) and outside its mouth opening."""
    keep = visible_skin_mask(roi_small, local)
    return keep & ~expression_mask(keep.shape, local, eyes=False)


def target_eyes(warped: np.ndarray, roi: np.ndarray, local: np.ndarray) -> np.ndarray:
    """``warped`` (the swapped face, H, W, 3 uint8) with the target's eyes of ``roi`` (the frame region,
    same shape; landmarks ``local`` (468, 2) in its pixels) put back: each lid aperture grown by
    EYE_KEEP_GROW of the face width (lids, lashes), faded out, each channel scaled by the ratio of the
    swap's median skin colour to the target's in the band around that eye (EYE_TONE_RING). The target's
    blink, with the photo's skin tone. A new image."""
    size = face_size(local)
    h, w = warped.shape[:2]
    grow = max(1, round(EYE_KEEP_GROW * size))
    outer, inner = max(1, round(EYE_TONE_RING[1] * size)), max(1, round(EYE_TONE_RING[0] * size))
    out = warped.copy()
    for ring in (RIGHT_EYE, LEFT_EYE):
        # Each eye is worked on in its own box: the aperture's bounds plus the tone band.
        points = local[list(ring)]
        x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int) - outer - 1, 0)
        x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + outer + 2, (w, h))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        aperture = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillPoly(aperture, [np.round(points - (x0, y0)).astype(np.int32)], 255)
        band = _grow(aperture, outer) & ~_grow(aperture, inner)
        if cv2.countNonZero(band) < 8:
            continue
        box_warped, box_roi = out[y0:y1, x0:x1], roi[y0:y1, x0:x1]
        inside = band > 0
        gain = (np.median(box_warped[inside], axis=0) + 1.0) / (np.median(box_roi[inside], axis=0) + 1.0)
        eye = cv2.GaussianBlur(_grow(aperture, grow), (0, 0), sigmaX=grow / 2.0 + 0.5)
        eye = (eye.astype(np.float32) * (1.0 / 255.0))[..., None]
        recoloured = np.clip(box_roi.astype(np.float32) * gain.astype(np.float32), 0, 255)
        out[y0:y1, x0:x1] = (recoloured * eye + box_warped.astype(np.float32) * (1.0 - eye)).astype(np.uint8)
    return out


def swap_face(frame: np.ndarray, source: SourceFace, target: np.ndarray, blend: BlendMode = "seamless",
              colour_strength: float = COLOUR_STRENGTH, occlusion: bool = True) -> Region | None:
    """Replace the face whose landmarks are ``target`` (468, 2) in ``frame`` (H, W, 3 RGB uint8, changed
    in place) with the source face. Returns the changed region, or None when the face is off-frame.
    The source's :class:`MotionTransfer` (when prepared with one) adds the target's expression change
    around the mouth and eyes (:mod:`media.face.motion`); a face's first frame has none.

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
    track = source.motion.face(target) if source.motion is not None else None
    coords, coverage = warp_maps(landmarks, local, source.triangles, Region(0, 0, grid[1], grid[0]))
    shrink = max(1, int(0.02 * size * scale))
    outline_small = _shrink(outline_mask(local, grid, coverage), shrink)
    # What the swap must leave as it is: the open mouth and, with occlusion, what covers the target's face
    # and what covers the photo's. Only the outline is shrunk and feathered inwards (the seam); these
    # holes grow by ~1 % of the face (HOLE_GROW), so the photo's face around them stays.
    keep = ~mouth_opening(local, grid)
    # The colour transfer and the Poisson solve use the whole face area; what the occlusion masks leave
    # out is only left out of the final blend (holes in a Poisson region pull its colours to the frame's).
    outer_small = outline_small & keep
    roi = frame[region.slices()]
    roi_small = cv2.resize(roi, (grid[1], grid[0]), interpolation=cv2.INTER_AREA) if scale < 1.0 else roi
    rims = None
    closing = False
    if occlusion:
        blinking = track is not None and source.motion.blinking(track, eye_openness(local))
        closing = eyes_closing(local, eye_openness(source.levels[0][1]), blinking)
        keep &= occlusion_masks(roi_small, local)
        # Glasses' rims are a few pixels wide: kept at full resolution, not grown with the grid's holes.
        rims = glasses_rims(roi, target - np.array([region.x0, region.y0], dtype=np.float32))
        source_visible = source.visible_for(size)
        if source_visible is not None:
            keep &= cv2.remap(source_visible, coords, None, interpolation=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if cv2.countNonZero(outline_small & keep) < 16:
        return None
    full = (region.width, region.height)
    if scale < 1.0:
        coords = cv2.resize(coords, full, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(outer_small, full, interpolation=cv2.INTER_NEAREST)
    else:
        mask = outer_small
    warped = cv2.remap(image, coords, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    folds = source.folds_for(size)
    if track is not None and folds is not None:
        share = source.motion.fold_share(track, smile_width(local), source.smile)
        if share > 0.02:  # the target smiles: the photo's folds come back, as much as it does
            back = cv2.remap(folds, coords, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
            warped = cv2.add(warped, back * share, dtype=cv2.CV_8U) if share < 0.98 else \
                cv2.add(warped, back, dtype=cv2.CV_8U)
    if colour_strength > 0:
        warped = transfer_colour(warped, roi, mask, colour_strength)
    if track is not None:
        change = source.motion.change(track, cv2.cvtColor(roi_small, cv2.COLOR_RGB2GRAY), local)
        if change is not None:
            if scale < 1.0:
                change = cv2.resize(change, full, interpolation=cv2.INTER_LINEAR)
            warped = cv2.add(warped, cv2.cvtColor(change, cv2.COLOR_GRAY2RGB), dtype=cv2.CV_8U)
    if closing:
        warped = target_eyes(warped, roi, target - np.array([region.x0, region.y0], dtype=np.float32))
    feather = 0.015 if blend == "seamless" else 0.04
    if blend == "seamless":
        warped = poisson_correct(warped, roi, mask)
    alpha = feather_mask(outline_small, max(1, int(feather * size * scale)))
    alpha *= _soft_keep(keep, max(1, round(HOLE_GROW * size * scale)))
    if scale < 1.0:
        alpha = cv2.resize(alpha, full, interpolation=cv2.INTER_LINEAR)
    if rims is not None and cv2.countNonZero(rims):
        alpha *= 1.0 - cv2.GaussianBlur(rims, (0, 0), sigmaX=1.0).astype(np.float32) * (1.0 / 255.0)
    frame[region.slices()] = alpha_blend(warped, roi, alpha)
    return region
