"""Temporal smoothing of landmarks: the One Euro filter (Casiez, Roussel, Vogel, "1 € Filter: A Simple
Speed-based Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012).

Each coordinate is low-passed with a cutoff that rises with its speed: still faces get strong smoothing
(no jitter), moving faces little (no lag). Cutoffs are in Hz; speeds are measured in face widths per
second so the same settings suit small and large faces.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_MIN_CUTOFF_HZ = 1.5
DEFAULT_BETA = 4.0
DEFAULT_DERIVATIVE_CUTOFF_HZ = 1.0


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One Euro filter over an array of points (N, 2) in pixels, one call per frame."""

    def __init__(self, min_cutoff_hz: float = DEFAULT_MIN_CUTOFF_HZ, beta: float = DEFAULT_BETA,
                 derivative_cutoff_hz: float = DEFAULT_DERIVATIVE_CUTOFF_HZ) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.derivative_cutoff_hz = derivative_cutoff_hz
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the history (a new face, or a cut in the video)."""
        self._value = None
        self._speed = None

    def __call__(self, points: np.ndarray, dt_s: float, scale: float = 1.0) -> np.ndarray:
        """Filter ``points`` (N, 2) observed ``dt_s`` seconds after the previous call.

        ``scale`` (pixels, e.g. the face width) normalises speeds. Returns the smoothed (N, 2) float32.
        """
        x = np.asarray(points, dtype=np.float64)
        if self._value is None or self._value.shape != x.shape or dt_s <= 0:
            self._value = x.copy()
            self._speed = np.zeros_like(x)
            return x.astype(np.float32)
        speed = (x - self._value) / dt_s / max(scale, 1e-6)
        a_d = _alpha(self.derivative_cutoff_hz, dt_s)
        self._speed = a_d * speed + (1.0 - a_d) * self._speed
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._speed)
        a = _alpha(cutoff, dt_s)
        self._value = a * x + (1.0 - a) * self._value
        return self._value.astype(np.float32)
