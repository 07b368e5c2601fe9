"""Piecewise-affine warp of a source face onto a target mesh, done as one ``cv2.remap``.

For every pixel of the target region the triangle covering it is rasterised into an index map; each
triangle's affine map (target -> source) is solved at once for all triangles; the per-pixel source
coordinates then feed a single remap. This is the per-triangle affine warp without a Python loop of
warpAffine calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Region:
    """An axis-aligned pixel rectangle ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def slices(self) -> tuple[slice, slice]:
        """Numpy (row, column) slices of this region."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def region_around(points: np.ndarray, width: int, height: int, margin: int = 8) -> Region | None:
    """Bounding rectangle of ``points`` (N, 2) grown by ``margin`` pixels, clipped to the image.

    Returns None when nothing of it lies inside the image.
    """
    x0 = max(int(np.floor(points[:, 0].min())) - margin, 0)
    y0 = max(int(np.floor(points[:, 1].min())) - margin, 0)
    x1 = min(int(np.ceil(points[:, 0].max())) + margin + 1, width)
    y1 = min(int(np.ceil(points[:, 1].max())) + margin + 1, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return Region(x0, y0, x1, y1)


def triangle_affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Affine maps (M, 3, 2) taking each destination triangle onto its source triangle.

    ``[x, y, 1] @ A[k]`` is the source point for destination point (x, y) in triangle k. Solved in closed
    form (2x2 inverse of the triangle's edge vectors); degenerate destination triangles, which cover no
    pixels, map everything to their source's first vertex.
    """
    d = dst[triangles].astype(np.float64)  # (M, 3, 2)
    s = src[triangles].astype(np.float64)
    de = np.stack([d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]], axis=1)  # (M, 2, 2) rows = edges
    se = np.stack([s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]], axis=1)
    det = de[:, 0, 0] * de[:, 1, 1] - de[:, 0, 1] * de[:, 1, 0]
    ok = np.abs(det) > 1e-9
    safe = np.where(ok, det, 1.0)
    inv = np.empty_like(de)  # inverse of de, so that p - d0 = bary @ de  ->  bary = (p - d0) @ inv
    inv[:, 0, 0] = de[:, 1, 1] / safe
    inv[:, 0, 1] = -de[:, 0, 1] / safe
    inv[:, 1, 0] = -de[:, 1, 0] / safe
    inv[:, 1, 1] = de[:, 0, 0] / safe
    linear = inv @ se  # (M, 2, 2): (p - d0) @ linear = source - s0
    linear[~ok] = 0.0
    translation = s[:, 0] - np.einsum("mi,mij->mj", d[:, 0], linear)
    return np.concatenate([linear, translation[:, None, :]], axis=1)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed area (M,) of each triangle in pixels²; the sign is the winding (orientation)."""
    p = points[triangles].astype(np.float64)
    return 0.5 * ((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
                  - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0]))


def facing_triangles(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Bool (M,): triangles whose winding is the same in source and destination. A flipped triangle
    has turned away from the camera (the far cheek of a turned head) and is hidden, so it is not drawn
    (back-face culling)."""
    a_src, a_dst = signed_areas(src, triangles), signed_areas(dst, triangles)
    return (np.sign(a_src) == np.sign(a_dst)) & (np.abs(a_dst) > 1e-3)


def triangle_index_map(dst: np.ndarray, triangles: np.ndarray, region: Region,
                       keep: np.ndarray | None = None, order: np.ndarray | None = None) -> np.ndarray:
    """int32 map (region.height, region.width): index of the triangle covering each pixel, -1 for none.

    ``keep`` (M,) bool leaves triangles out (their pixels stay -1); ``order`` (indices) draws only
    these triangles, in this order (a later one wins where they overlap).
    """
    index = np.full((region.height, region.width), -1, dtype=np.int32)
    # fillConvexPoly with 4 bits of sub-pixel precision; colours are triangle ids.
    shift = 4
    pts = np.round((dst[triangles] - (region.x0, region.y0)) * (1 << shift)).astype(np.int32)
    ids = range(len(triangles)) if keep is None else np.flatnonzero(keep)
    if order is not None:
        ids = order
    for k in ids:
        cv2.fillConvexPoly(index, pts[k], int(k), lineType=cv2.LINE_8, shift=shift)
    return index


def warp_maps(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray,
              region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Remap coordinates for ``region``: a (region.height, region.width, 2) float32 map of source-image
    (x, y) for ``cv2.remap``, and a uint8 mask (255 where a front-facing triangle covers the pixel).

    Back-facing triangles are drawn first and front-facing ones over them, so a pixel that only a
    back-facing triangle covers (a nose wing turned away) still gets plausible source coordinates:
    the map has no -1 holes inside the face that upsampling would smear into wrong samples. Elsewhere
    (no triangle) the map is -1. A sample further than a pixel's worth of the mesh's scale (+ 1) from the
    3x3 median of its neighbours (which equals it wherever the map is linear, inside a triangle) takes
    that median: the lone far-off samples of edge pixels of sliver triangles (dark specks along a nose
    wing or a fold) go."""
    facing = facing_triangles(src, dst, triangles)
    back = ~facing & (np.abs(signed_areas(dst, triangles)) > 1e-3)
    order = np.concatenate([np.flatnonzero(back), np.flatnonzero(facing)])
    index = triangle_index_map(dst, triangles, region, order=order)
    covered = index >= 0
    affines = triangle_affines(src, dst, triangles).astype(np.float32)
    ys, xs = np.nonzero(covered)
    a = affines[index[ys, xs]]  # (P, 3, 2)
    p = np.stack([xs + region.x0, ys + region.y0], axis=1).astype(np.float32)  # (P, 2)
    coords = np.full(index.shape + (2,), -1.0, dtype=np.float32)
    coords[ys, xs] = np.einsum("pi,pij->pj", p, a[:, :2, :]) + a[:, 2, :]
    cx, cy = cv2.split(coords)
    mx, my = cv2.medianBlur(cx, 3), cv2.medianBlur(cy, 3)
    slope = float(np.ptp(src[:, 0]) + np.ptp(src[:, 1])) / max(float(np.ptp(dst[:, 0]) + np.ptp(dst[:, 1])), 1e-6)
    far = cv2.max(cv2.absdiff(mx, cx), cv2.absdiff(my, cy)) > slope + 1.0
    outlier = far & covered & (cv2.min(mx, my) >= 0)
    if outlier.any():
        coords[outlier] = np.stack([mx[outlier], my[outlier]], axis=1)
    # Front-facing coverage through a lookup (index -1, no triangle, reads the appended 0).
    front = np.append(facing.astype(np.uint8) * 255, np.uint8(0))[index]
    return coords, front


def warp_face(source: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray, triangles: np.ndarray,
              region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``source`` (H, W, 3) so its mesh ``src_points`` lands on ``dst_points``, over ``region``.

    Returns (warped image (region.height, region.width, 3) uint8, coverage mask uint8 0/255).
    """
    coords, mask = warp_maps(src_points, dst_points, triangles, region)
    warped = cv2.remap(source, coords, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped, mask
