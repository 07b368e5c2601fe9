"""Shared, session-scoped fixtures for the rendering tests: one render cache, normalised sources made
once (short real samples, x264 ``ultrafast`` from tests/conftest.py), helpers to decode outputs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from media.ffmpeg_run import ffmpeg_exe
from media.settings import reset_settings

# Hook windows use the canonical (test: ultrafast) preset unless a test asks for another one.
os.environ.setdefault("NOVAI_HOOK_WINDOW_PRESET", "")
reset_settings()


@pytest.fixture(scope="session")
def render_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("render-cache")


@pytest.fixture(scope="session")
def square_src(samples) -> Path:
    """844x844, 25 fps, 5.04 s, with speech audio."""
    return samples / "videos" / "retalking_face_2.mp4"


@pytest.fixture(scope="session")
def silent_vertical_src(samples, tmp_path_factory) -> Path:
    """The first ~2 s of the 720x1280 sample (no audio stream), cut by stream copy."""
    out = tmp_path_factory.mktemp("clips") / "vertical_2s.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(samples / "videos" / "liveportrait_d13.mp4"),
                    "-t", "2", "-an", "-c", "copy", str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def norm_square_blur(square_src, render_cache):
    from media.normalize import normalize_video
    return normalize_video(square_src, "blur", render_cache)


def framemd5(url: str) -> list[tuple[int, str]]:
    """(pts, md5) of every decoded video frame (FFmpeg's framemd5 muxer)."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", url, "-map", "0:v:0", "-f", "framemd5", "-"],
                         check=True, capture_output=True, text=True).stdout
    rows = [ln.split(",") for ln in out.splitlines() if ln and not ln.startswith("#")]
    return [(int(r[2]), r[5].strip()) for r in rows]


def decode_warnings(path: Path) -> str:
    """What ``ffmpeg -v warning -i path -f null -`` prints (empty for a clean file)."""
    res = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "warning", "-i", str(path), "-f", "null", "-"],
                         check=False, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stderr.strip()


def gray_frames(url: str, indices: set[int], scale: int = 4) -> dict[int, np.ndarray]:
    """Decoded luma of the frames with these indices (decode order = display order here), downscaled."""
    out: dict[int, np.ndarray] = {}
    with av.open(url) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in indices:
                out[i] = frame.to_ndarray(format="gray")[::scale, ::scale].astype(np.float32)
            if len(out) == len(indices):
                break
    return out


def mono(path: Path, rate: int = 8000) -> np.ndarray:
    """First audio stream decoded to mono float at ``rate`` Hz."""
    chunks = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def best_correlation(signal: np.ndarray, reference: np.ndarray, expected_lag: int, search: int,
                     length: int) -> tuple[int, float]:
    """(lag, normalised correlation) maximising corr(signal[:length], reference[lag:lag+length])."""
    a = signal[:length] - signal[:length].mean()
    best = (0, -1.0)
    for lag in range(max(0, expected_lag - search), expected_lag + search + 1):
        b = reference[lag:lag + length]
        if len(b) < length:
            break
        b = b - b.mean()
        denom = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0
        c = float(np.dot(a, b)) / denom
        if c > best[1]:
            best = (lag, c)
    return best
