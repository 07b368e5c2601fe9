"""A character's colour palette (skin, hair, clothing) sampled from a photo around its face landmarks.

Regions, in units of the face's width ``w`` and height ``h`` (forehead top, landmark 10, to chin,
landmark 152, of the Face Mesh): skin = the median of small patches on both cheeks (landmarks 50, 280)
and the forehead (151); hair = a band from 0.3 h to 0.03 h above the forehead top, 0.6 w wide: its most
common colour cluster unlike the skin and unlike the background beside the head (none: not visible);
clothing = the most common colour cluster unlike the skin (a dark suit may be as dark as the background,
so that is not avoided) of the shoulders: two boxes from 0.15 h to 1.3 h below the chin, 0.5 w to 1.1 w left and right of the face's
centre (the middle holds the neck, a tie or a hand with a microphone); as a head-and-shoulders photo
often ends soon below the chin, 15% of the boxes inside the photo is enough. Another region less than
30% inside the photo is reported as not visible rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

SKIN_POINTS = (50, 280, 151)
FOREHEAD_TOP = 10
CHIN = 152
MIN_VISIBLE = 0.3  # share of a region that must lie inside the photo
MIN_VISIBLE_CLOTHING = 0.15
COLOUR_DISTANCE = 60.0  # RGB distance under which a hair cluster is taken for skin or background


@dataclass(frozen=True)
class Swatch:
    """One palette entry: ``rgb`` is None when the region is not visible in the photo."""

    label: str
    rgb: tuple[int, int, int] | None

    @property
    def hex(self) -> str:
        """``#rrggbb``, or ``not visible``."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb) if self.rgb else "not visible"


def _box(photo: np.ndarray, x0: float, y0: float, x1: float, y1: float,
         min_visible: float = MIN_VISIBLE) -> np.ndarray | None:
    """Pixels of the box clipped to the photo, or None when less than ``min_visible`` of it is inside."""
    height, width = photo.shape[:2]
    area = max(x1 - x0, 1.0) * max(y1 - y0, 1.0)
    cx0, cy0 = int(max(0, round(x0))), int(max(0, round(y0)))
    cx1, cy1 = int(min(width, round(x1))), int(min(height, round(y1)))
    if cx1 <= cx0 or cy1 <= cy0 or (cx1 - cx0) * (cy1 - cy0) < min_visible * area:
        return None
    return photo[cy0:cy1, cx0:cx1]


def colour_clusters(pixels: np.ndarray, colours: int = 4) -> list[tuple[int, tuple[int, int, int]]]:
    """``(pixel count, rgb)`` of an RGB pixel block's median-cut clusters, most common first."""
    block = Image.fromarray(np.ascontiguousarray(pixels.reshape(-1, 1, 3)).astype(np.uint8))
    quantised = block.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or [0, 0, 0]
    clusters = [(count, tuple(int(v) for v in palette[i * 3:i * 3 + 3]))
                for count, i in (quantised.getcolors() or [])]
    return sorted(clusters, reverse=True)  # type: ignore[return-value]


def _far(rgb: tuple[int, int, int], others: list[tuple[int, int, int]], distance: float) -> bool:
    return all(float(np.linalg.norm(np.subtract(rgb, other))) >= distance for other in others)


def dominant_colour(pixels: np.ndarray, avoid: list[tuple[int, int, int]] | None = None,
                    min_share: float = 0.1) -> tuple[int, int, int] | None:
    """Most common cluster colour of a pixel block. With ``avoid``, the most common cluster at least
    ``COLOUR_DISTANCE`` (RGB Euclidean) from every colour in it and covering ``min_share`` of the
    block, or None when there is none."""
    clusters = colour_clusters(pixels)
    if not avoid:
        return clusters[0][1] if clusters else None
    total = sum(count for count, _ in clusters) or 1
    for count, rgb in clusters:
        if count >= min_share * total and _far(rgb, avoid, COLOUR_DISTANCE):
            return rgb
    return None


def _background(photo: np.ndarray, cx: float, top: float, w: float, h: float) -> list[tuple[int, int, int]]:
    """Main colours beside the head (boxes 0.7-1.1 w left and right of it, at forehead height)."""
    colours: list[tuple[int, int, int]] = []
    for x0, x1 in ((cx - 1.1 * w, cx - 0.7 * w), (cx + 0.7 * w, cx + 1.1 * w)):
        box = _box(photo, x0, top - 0.3 * h, x1, top + 0.1 * h)
        if box is not None:
            clusters = colour_clusters(box)
            total = sum(count for count, _ in clusters) or 1
            colours += [rgb for count, rgb in clusters if count >= 0.2 * total]
    return colours


def face_palette(photo: np.ndarray, landmarks: np.ndarray) -> list[Swatch]:
    """Skin, hair and clothing swatches of the face given by ``landmarks`` ((468, 2) pixels) in
    ``photo`` (RGB uint8 (H, W, 3)). Always three swatches, in that order."""
    points = np.asarray(landmarks, dtype=np.float64)
    top, chin = points[FOREHEAD_TOP], points[CHIN]
    w = float(np.ptp(points[:, 0]))
    h = float(max(chin[1] - top[1], 1.0))
    cx = float(points[:, 0].mean())
    radius = max(2.0, 0.05 * w)
    patches = [_box(photo, x - radius, y - radius, x + radius, y + radius) for x, y in points[list(SKIN_POINTS)]]
    skin_pixels = [p.reshape(-1, 3) for p in patches if p is not None and p.size]
    skin = tuple(int(v) for v in np.median(np.concatenate(skin_pixels), axis=0)) if skin_pixels else None
    hair = _box(photo, cx - 0.3 * w, top[1] - 0.3 * h, cx + 0.3 * w, top[1] - 0.03 * h)
    avoid = ([skin] if skin else []) + _background(photo, cx, float(top[1]), w, h)
    return [Swatch("skin", skin),  # type: ignore[arg-type]
            Swatch("hair", dominant_colour(hair, avoid=avoid) if hair is not None else None),
            Swatch("clothing", _clothing(photo, cx, float(chin[1]), w, h, [skin] if skin else []))]


def _clothing(photo: np.ndarray, cx: float, chin_y: float, w: float, h: float,
              avoid: list[tuple[int, int, int]]) -> tuple[int, int, int] | None:
    """Main colour of the shoulder boxes (see the module docstring), None when neither is visible."""
    y0, y1 = chin_y + 0.15 * h, chin_y + 1.3 * h
    boxes = [_box(photo, x0, y0, x1, y1, MIN_VISIBLE_CLOTHING)
             for x0, x1 in ((cx - 1.1 * w, cx - 0.5 * w), (cx + 0.5 * w, cx + 1.1 * w))]
    pixels = [b.reshape(-1, 3) for b in boxes if b is not None and b.size]
    if not pixels:
        return None
    block = np.concatenate(pixels)
    return dominant_colour(block, avoid=avoid) or dominant_colour(block)
