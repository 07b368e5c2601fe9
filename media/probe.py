"""Probe media files with PyAV (its wheel bundles FFmpeg's libraries; no system ffprobe needed).

Also validates by content: :func:`probe` decodes the first video frame (or audio frame) and one near
the end, so a renamed text file or a truncated MP4 raises :class:`MediaError` naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from media.errors import LimitExceeded, StudioError


class MediaError(StudioError, ValueError):
    """The file is not usable media; the message names the file and the reason."""


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds. Durations in seconds, sizes in pixels, rates in frames/s and Hz.

    ``duration_s`` is the video stream's duration when there is video (the container's otherwise);
    ``video_start_s``/``audio_start_s`` are the streams' first timestamps; ``rotation`` is the display
    rotation in degrees (0, 90, 180, 270) and ``width``/``height`` are as stored, before rotation.
    """

    path: Path
    format_name: str
    duration_s: float
    size_bytes: int
    has_video: bool = False
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int = 0
    video_codec: str = ""
    pix_fmt: str = ""
    rotation: int = 0
    video_start_s: float = 0.0
    has_audio: bool = False
    audio_codec: str = ""
    sample_rate: int = 0
    channels: int = 0
    audio_start_s: float = 0.0
    audio_duration_s: float = 0.0

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, rotation applied."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


def _seconds(value: int | None, time_base: Fraction | None) -> float:
    if value is None or time_base is None:
        return 0.0
    return float(value * time_base)


def _decode_one(container: av.container.InputContainer, stream: av.stream.Stream):
    for frame in container.decode(stream):
        return frame
    return None


class VideoTooLarge(LimitExceeded, MediaError):
    """A video over the frame-size or length limit (``NOVAI_MAX_VIDEO_PIXELS``,
    ``NOVAI_MAX_VIDEO_DURATION_S``); the message names the file, its size and the limit."""


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


def check_video_limits(name: str, width: int, height: int, duration_s: float) -> None:
    """Refuse a video whose frame (``width`` x ``height`` pixels) or length (seconds) is over the limits
    of the settings (default 4096x4096 pixels, 15 min). Raises :class:`VideoTooLarge` naming ``name``."""
    from media.settings import get_settings

    settings = get_settings()
    pixels, limit = width * height, settings.max_video_pixels
    if pixels > limit:
        side = math.isqrt(limit)
        as_square = f" (e.g. {side}x{side})" if side * side == limit else ""
        raise VideoTooLarge(
            f"{name} is {width}x{height} pixels ({pixels / 1e6:.1f} megapixels a frame); the studio accepts "
            f"videos up to {limit:,} pixels a frame{as_square} (setting NOVAI_MAX_VIDEO_PIXELS). "
            "Scale it down first.")
    if duration_s > settings.max_video_duration_s:
        raise VideoTooLarge(
            f"{name} lasts {_clock(duration_s)}; the studio accepts videos up to "
            f"{_clock(settings.max_video_duration_s)} (setting NOVAI_MAX_VIDEO_DURATION_S). Trim it first.")


def probe(path: str | Path, check_decode: bool = True, check_limits: bool = False) -> MediaInfo:
    """Read the streams of ``path``; raises :class:`MediaError` when it is not decodable media.

    With ``check_decode`` the first frame and a frame near the end are decoded (catches truncation).
    With ``check_limits`` a video over the frame-size or length limit raises :class:`VideoTooLarge`
    (see :func:`check_video_limits`) before anything is decoded.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise MediaError(f"file not found: {name}")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"empty file: {name}")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"not a readable media file: {name} ({exc.__class__.__name__})") from exc
    try:
        return _probe_container(container, path, size, check_decode, check_limits)
    except av.FFmpegError as exc:
        raise MediaError(f"media file is damaged or truncated: {name} ({exc})") from exc
    finally:
        container.close()


def _probe_container(container, path: Path, size: int, check_decode: bool,
                     check_limits: bool = False) -> MediaInfo:
    name = path.name
    videos = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    audios = list(container.streams.audio)
    if not videos and not audios:
        raise MediaError(f"no audio or video stream in {name}")
    fields: dict = {"path": path, "format_name": container.format.name, "size_bytes": size}
    container_duration = (container.duration or 0) / 1_000_000
    if videos:
        v = videos[0]
        rate = v.average_rate or v.guessed_rate or v.base_rate
        duration = _seconds(v.duration, v.time_base) or container_duration
        fields.update(
            has_video=True, width=v.codec_context.width, height=v.codec_context.height,
            fps=float(rate) if rate else 0.0, frame_count=int(v.frames or 0),
            video_codec=v.codec_context.name, pix_fmt=v.codec_context.format.name if v.codec_context.format else "",
            video_start_s=_seconds(v.start_time, v.time_base), duration_s=duration,
        )
        if check_limits:  # before decoding: a huge frame costs memory and minutes
            check_video_limits(name, fields["width"], fields["height"], duration)
        if check_decode:
            frame = _decode_one(container, v)
            if frame is None:
                raise MediaError(f"no decodable video frame in {name}")
            fields["rotation"] = int(getattr(frame, "rotation", 0) or 0) % 360
            _check_tail(container, v, duration, name)
    if audios:
        a = audios[0]
        fields.update(
            has_audio=True, audio_codec=a.codec_context.name, sample_rate=a.codec_context.sample_rate or 0,
            channels=a.codec_context.channels if hasattr(a.codec_context, "channels") else 0,
            audio_start_s=_seconds(a.start_time, a.time_base),
            audio_duration_s=_seconds(a.duration, a.time_base) or container_duration,
        )
        if not videos:
            fields["duration_s"] = fields["audio_duration_s"]
            if check_decode:
                if _decode_one(container, a) is None:
                    raise MediaError(f"no decodable audio in {name}")
                _check_tail(container, a, fields["duration_s"], name)
    if fields.get("duration_s", 0) <= 0:
        raise MediaError(f"media file has no duration: {name}")
    return MediaInfo(**fields)


def _check_tail(container, stream, duration_s: float, name: str) -> None:
    """Seek to 90 % and decode to the end: a truncated file decodes nothing (or errors) there."""
    if duration_s <= 1.0 or stream.time_base is None:
        return
    start = stream.start_time or 0
    target_s = duration_s * 0.9
    container.seek(int(target_s / stream.time_base) + start, stream=stream, backward=True, any_frame=False)
    last_s = -1.0
    try:
        for frame in container.decode(stream):
            if frame.pts is not None:
                last_s = max(last_s, float((frame.pts - start) * stream.time_base))
    except av.FFmpegError as exc:
        raise MediaError(f"media file is damaged or truncated near the end: {name}") from exc
    if last_s < target_s - 1.0:
        raise MediaError(f"media file is truncated (its last {duration_s - max(last_s, 0):.1f} s are "
                         f"missing): {name}")
