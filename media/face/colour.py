"""Colour transfer between face regions, after Reinhard et al., "Color Transfer between Images" (IEEE
CG&A 2001): match each channel's mean and standard deviation inside the face.

Done, as in the paper, in a decorrelated opponent space: CIE L*a*b* (OpenCV's 8-bit Lab), where the
lightness and the two chroma channels vary nearly independently over skin. Per RGB channel the three are
coupled: a darker, more saturated photo face matched onto a pale one kept its chroma spread (yellow
patches under the eyes, an orange cheek, reddish eyes on liveportrait_s18 x obama.jpg). Each channel is a
256-entry lookup table (statistics from a subsample of the face's pixels); Poisson cloning afterwards
takes care of the remaining low-frequency differences in lighting.
"""

from __future__ import annotations

import cv2
import numpy as np

# Statistics use every STRIDE-th pixel of the face in each direction.
STRIDE = 3
# Largest gain of the a* and b* spreads (liveportrait_d13 x biden_portrait.jpg: 1.6 made his eyes glow blue).
CHROMA_GAIN_MAX = 1.0


def channel_stats(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel (mean, std) of ``image`` (H, W, 3) where ``mask`` > 0, or None for < 16 pixels."""
    sub_mask = np.ascontiguousarray(mask[::STRIDE, ::STRIDE])
    if cv2.countNonZero(sub_mask) < 16:
        return None
    mean, std = cv2.meanStdDev(np.ascontiguousarray(image[::STRIDE, ::STRIDE]), mask=sub_mask)
    return mean.ravel().astype(np.float32), std.ravel().astype(np.float32) + 1e-3


def transfer_colour(source: np.ndarray, target: np.ndarray, mask: np.ndarray,
                    strength: float = 1.0) -> np.ndarray:
    """``source`` (H, W, 3) RGB uint8 recoloured so its L*a*b* channel statistics inside ``mask`` (H, W,
    >0 = in) match ``target``'s (same shape). ``strength`` 0..1 blends from no change to the full transfer.

    Returns a new uint8 RGB image; an unchanged copy when the mask holds too few pixels.
    """
    if strength <= 0:
        return source.copy()  # the 8-bit Lab round trip is not lossless
    source_lab = cv2.cvtColor(source, cv2.COLOR_RGB2LAB)
    src_stats = channel_stats(source_lab, mask)
    dst_stats = channel_stats(cv2.cvtColor(target, cv2.COLOR_RGB2LAB), mask)
    if src_stats is None or dst_stats is None:
        return source.copy()
    (s_mean, s_std), (d_mean, d_std) = src_stats, dst_stats
    # Lightness contrast may go either way; chroma spread is only ever narrowed (CHROMA_GAIN_MAX): widened,
    # the colours far from the skin's (a blue iris, the lips) would be pushed past anything natural.
    gain = 1.0 + strength * (np.clip(d_std / s_std, 0.5, (2.0, CHROMA_GAIN_MAX, CHROMA_GAIN_MAX)) - 1.0)
    offset = s_mean + strength * (d_mean - s_mean)
    levels = np.arange(256, dtype=np.float32)[:, None]
    lut = np.clip((levels - s_mean) * gain + offset + 0.5, 0, 255).astype(np.uint8)  # (256, 3)
    return cv2.cvtColor(cv2.LUT(source_lab, lut.reshape(256, 1, 3)), cv2.COLOR_LAB2RGB)
