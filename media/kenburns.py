"""Stills as variant sources: a Ken Burns move (slow zoom or pan) of a library image (issue 11).

The clip is 1080x1920, 30 frames/s, H.264 at the canonical codec settings, without audio, so it is
normalised like any other source video. Filters: ``scale``/``crop`` to cover, then ``zoompan``
(https://ffmpeg.org/ffmpeg-filters.html#zoompan).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from media import canonical
from media import ffmpeg_builder as fb
from media.canonical import FPS
from media.errors import InvalidInput
from media.ffmpeg_run import run_ffmpeg

DEFAULT_STILL_S = 8.0  # length of a still's clip when neither the option nor an audio length gives one


def still_to_video(image: Path, out: Path, duration_s: float, motion: str = "zoom_in", zoom: float = 1.15) -> Path:
    """Write a ``duration_s`` Ken Burns clip of ``image`` to ``out`` (atomically); returns ``out``.

    ``motion``: zoom_in | zoom_out | pan_left | pan_right; ``zoom``: 1..2 (1.15 = 15 % closer).
    Raises InvalidInput (bad length, motion or zoom), MediaError (unreadable image).
    """
    if not 1.0 / FPS <= float(duration_s) <= 600:
        raise InvalidInput(f"still_duration_s: {duration_s!r} is outside 1..600")
    if not 1.0 <= float(zoom) <= 2.0:
        raise InvalidInput(f"still_zoom: {zoom!r} is outside 1..2")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        args_for = lambda tmp: fb.kenburns_args(Path(image), tmp, float(duration_s), motion, float(zoom),
                                                canonical.current_codec())
        args_for(out)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".part.mp4", dir=out.parent)
    os.close(fd)
    try:
        run_ffmpeg(args_for(Path(name)), f"making a Ken Burns clip of {Path(image).name}", float(duration_s))
        os.replace(name, out)
    finally:
        Path(name).unlink(missing_ok=True)
    return out
