"""Raw-frame pipes through FFmpeg (the ``imageio-ffmpeg`` binary): decode a video to RGB frames and
encode RGB frames back to H.264 + AAC MP4, each FFmpeg in its own process, fed and drained by threads.

Decode, frame work and encode therefore overlap: while Python works on frame n, one FFmpeg decodes
frame n+k and the other encodes frame n-k. Command lines come from pure builder functions
(:func:`decode_command`, :func:`encode_command`) that tests check argument by argument.

Timing and colour are kept: the output has the source's frame rate and frame count, its video starts
at the same offset from the audio (``-itsoffset``), the RGB conversion uses the source's YCbCr matrix
both ways (BT.709 when the stream says so, BT.601 otherwise) and the output is tagged with it.
A variable-frame-rate source comes out at its average rate (same frames, evenly spaced).
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from media.ffmpeg_run import ffmpeg_exe

# AVColorSpace / AVColorRange values (libavutil/pixfmt.h).
_AVCOL_SPC_BT709 = 1
_AVCOL_RANGE_JPEG = 2
AUDIO_BITRATE = "192k"
_END = object()


class PipeError(RuntimeError):
    """FFmpeg failed; the message names the file and carries the end of FFmpeg's error output."""


@dataclass(frozen=True)
class VideoFormat:
    """What the pipes need to know about a source video.

    ``width``/``height`` are as displayed (rotation applied, as FFmpeg's decoder outputs frames);
    ``rate`` is the average frame rate (frames/s); times in seconds; ``color_matrix`` is "bt709" or
    "bt601"; ``audio_codec`` is "" when there is no audio stream.
    """

    width: int
    height: int
    rate: Fraction
    frame_count: int
    color_matrix: str
    full_range: bool
    video_start_s: float
    audio_codec: str
    audio_start_s: float

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3

    @property
    def video_offset_s(self) -> float:
        """How long after the first audio sample the first video frame starts (>= 0)."""
        if not self.audio_codec:
            return 0.0
        return max(self.video_start_s - min(self.video_start_s, self.audio_start_s), 0.0)


def read_video_format(path: Path) -> VideoFormat:
    """Read :class:`VideoFormat` of ``path`` with PyAV; raises ValueError naming the file if it has no
    video stream or cannot be opened."""
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise ValueError(f"not a readable video: {path.name} ({exc})") from exc
    with container:
        if not container.streams.video:
            raise ValueError(f"no video stream in {path.name}")
        v = container.streams.video[0]
        cc = v.codec_context
        rotation = 0
        for frame in container.decode(v):
            rotation = int(getattr(frame, "rotation", 0) or 0) % 360
            break
        width, height = (cc.height, cc.width) if rotation in (90, 270) else (cc.width, cc.height)
        rate = v.average_rate or v.guessed_rate or v.base_rate or Fraction(30)
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoFormat(
            width=width, height=height, rate=Fraction(rate), frame_count=int(v.frames or 0),
            color_matrix="bt709" if cc.colorspace == _AVCOL_SPC_BT709 else "bt601",
            full_range=cc.color_range == _AVCOL_RANGE_JPEG,
            video_start_s=float((v.start_time or 0) * v.time_base) if v.time_base else 0.0,
            audio_codec=audio.codec_context.name if audio is not None else "",
            audio_start_s=(float((audio.start_time or 0) * audio.time_base)
                           if audio is not None and audio.time_base else 0.0),
        )


def _range(fmt: VideoFormat) -> str:
    return "pc" if fmt.full_range else "tv"


def decode_command(ffmpeg: str, source: Path, fmt: VideoFormat, threads: int = 0) -> list[str]:
    """FFmpeg arguments that write every video frame of ``source`` as raw RGB24 to stdout.

    ``-fps_mode passthrough`` keeps every decoded frame (no duplicates, no drops); ``threads`` 0 = auto.
    """
    vf = f"scale=in_color_matrix={fmt.color_matrix}:in_range={_range(fmt)},format=rgb24"
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", str(threads),
            "-i", str(source), "-map", "0:v:0", "-an", "-sn", "-dn", "-fps_mode", "passthrough",
            "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]


def encode_command(ffmpeg: str, source: Path, out: Path, fmt: VideoFormat, crf: int = 20,
                   preset: str = "veryfast", threads: int = 0, metadata: dict[str, str] | None = None) -> list[str]:
    """FFmpeg arguments that encode raw RGB24 frames from stdin to H.264 (``out``), taking the audio of
    ``source``: stream-copied when it is AAC, re-encoded to AAC otherwise. ``metadata`` are container
    tags (``-metadata key=value``, e.g. ``description``), written to the MP4's udta/ilst.

    The frame rate is the source's; odd sizes are cropped by one pixel (yuv420p needs even sizes).
    """
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{fmt.width}x{fmt.height}",
            "-framerate", f"{fmt.rate.numerator}/{fmt.rate.denominator}"]
    if fmt.video_offset_s > 0:
        args += ["-itsoffset", f"{fmt.video_offset_s:.6f}"]
    args += ["-i", "pipe:0"]
    if fmt.audio_codec:
        args += ["-i", str(source), "-map", "0:v:0", "-map", "1:a:0"]
    else:
        args += ["-map", "0:v:0"]
    vf = f"scale=out_color_matrix={fmt.color_matrix}:out_range={_range(fmt)}"
    if fmt.width % 2 or fmt.height % 2:
        vf = "crop=trunc(iw/2)*2:trunc(ih/2)*2," + vf
    tags = ("bt709", "bt709", "bt709") if fmt.color_matrix == "bt709" else ("smpte170m", "smpte170m",
                                                                               "smpte170m")
    args += ["-vf", vf, "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
             "-colorspace", tags[0], "-color_primaries", tags[1], "-color_trc", tags[2],
             "-color_range", _range(fmt), "-threads", str(threads)]
    if fmt.audio_codec == "aac":
        args += ["-c:a", "copy"]
    elif fmt.audio_codec:
        args += ["-c:a", "aac", "-b:a", AUDIO_BITRATE]
    for key, value in (metadata or {}).items():
        args += ["-metadata", f"{key}={value}"]
    args += ["-movflags", "+faststart", str(out)]
    return args


def _stderr_tail(proc: subprocess.Popen) -> str:
    try:
        data = proc.stderr.read() if proc.stderr else b""
    except (OSError, ValueError):
        data = b""
    return data.decode("utf-8", "replace").strip()[-800:]


class FrameReader:
    """Decoded RGB frames (H, W, 3) uint8 of a video, produced by FFmpeg in a background thread.

    Use as a context manager and iterate; leaving the block stops FFmpeg. Raises :class:`PipeError`
    when FFmpeg fails.
    """

    def __init__(self, source: Path, fmt: VideoFormat, buffer_frames: int = 8, threads: int = 0) -> None:
        self.source, self.fmt = Path(source), fmt
        self._queue: queue.Queue = queue.Queue(maxsize=buffer_frames)
        self._stop = threading.Event()
        self._proc = subprocess.Popen(decode_command(ffmpeg_exe(), self.source, fmt, threads),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self._thread = threading.Thread(target=self._pump, name="frame-reader", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        size = self.fmt.frame_bytes
        stdout = self._proc.stdout
        try:
            while not self._stop.is_set():
                buf = bytearray(size)
                view, got = memoryview(buf), 0
                while got < size:
                    n = stdout.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got < size:
                    break
                frame = np.frombuffer(buf, dtype=np.uint8).reshape(self.fmt.height, self.fmt.width, 3)
                self._put(frame)
        except (OSError, ValueError):
            pass
        finally:
            self._put(_END)

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is _END:
                break
            yield item
        rc = self._proc.wait()
        if rc != 0 and not self._stop.is_set():
            raise PipeError(f"decoding {self.source.name} failed: {_stderr_tail(self._proc)}")

    def close(self) -> None:
        """Stop FFmpeg and the reader thread."""
        self._stop.set()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._thread.join(timeout=2)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> FrameReader:  # noqa: PYI034  (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FrameWriter:
    """Encodes RGB frames to ``out`` with FFmpeg (see :func:`encode_command`); frames are written to its
    stdin by a background thread. Call :meth:`finish` to complete the file; :meth:`abort` (or leaving
    the context without finishing) kills FFmpeg and deletes ``out``."""

    def __init__(self, source: Path, out: Path, fmt: VideoFormat, crf: int = 20, preset: str = "veryfast",
                 buffer_frames: int = 8, threads: int = 0, metadata: dict[str, str] | None = None) -> None:
        self.out, self.fmt = Path(out), fmt
        self._queue: queue.Queue = queue.Queue(maxsize=buffer_frames)
        self._error: BaseException | None = None
        self._finished = False
        self._proc = subprocess.Popen(encode_command(ffmpeg_exe(), Path(source), self.out, fmt, crf, preset,
                                                     threads, metadata),
                                      stdin=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self._thread = threading.Thread(target=self._pump, name="frame-writer", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        stdin = self._proc.stdin
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    break
                stdin.write(memoryview(item).cast("B"))
        except (OSError, ValueError) as exc:
            self._error = exc
            while self._queue.get() is not _END:  # drain so the producer never blocks
                pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def write(self, frame: np.ndarray) -> None:
        """Queue one frame (H, W, 3) uint8 of the format's size; raises PipeError if FFmpeg died."""
        if self._error is not None or self._proc.poll() not in (None, 0):
            raise PipeError(f"encoding {self.out.name} failed: {_stderr_tail(self._proc)}")
        if frame.shape != (self.fmt.height, self.fmt.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame of shape {frame.shape} does not match {self.fmt.width}x{self.fmt.height}")
        self._queue.put(np.ascontiguousarray(frame))

    def finish(self) -> Path:
        """Flush, wait for FFmpeg and return ``out``; raises PipeError (and deletes ``out``) on failure."""
        self._queue.put(_END)
        self._thread.join()
        rc = self._proc.wait()
        if rc != 0 or self._error is not None:
            tail = _stderr_tail(self._proc)
            self.out.unlink(missing_ok=True)
            raise PipeError(f"encoding {self.out.name} failed: {tail or self._error}")
        self._finished = True
        if self._proc.stderr:
            self._proc.stderr.close()
        return self.out

    def abort(self) -> None:
        """Kill FFmpeg and delete the partial output."""
        if self._finished:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            self._queue.put_nowait(_END)
        except queue.Full:
            pass
        self._thread.join(timeout=2)
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self.out.unlink(missing_ok=True)

    def __enter__(self) -> FrameWriter:  # noqa: PYI034  (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            self.abort()
