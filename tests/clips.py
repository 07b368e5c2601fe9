"""Short generated clips for the face-swap tests, cut from the real samples (never stored in the repo).

Plain functions; tests/jobs/conftest.py and the test modules that need a clip wrap them in fixtures.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

# In the talking clip, frames from this time on are covered by a flat grey box: frames with no face.
NO_FACE_FROM_S = 1.2
CLIP_S = 1.6


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


def make_talking_clip(samples: Path, folder: Path) -> Path:
    """1.6 s of retalking_face_2.mp4 (one face, speech, AAC) at 480x480, 25 fps; from 1.2 s on the whole
    frame is grey (no face)."""
    out = folder / "talking_480.mp4"
    _ffmpeg("-i", str(samples / "videos" / "retalking_face_2.mp4"), "-t", str(CLIP_S),
            "-vf", f"scale=480:480,drawbox=x=0:y=0:w=iw:h=ih:color=gray:t=fill:enable='gte(t,{NO_FACE_FROM_S})'",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", str(out))
    return out


def make_faceless_clip(folder: Path) -> Path:
    """1 s of a moving test pattern with a sine tone: no face anywhere."""
    out = folder / "pattern.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out))
    return out
