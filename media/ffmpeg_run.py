"""Run the bundled FFmpeg (``imageio_ffmpeg.get_ffmpeg_exe()``; no system ffmpeg) with progress.

FFmpeg writes ``-progress pipe:1`` key=value lines on stdout (``out_time_us=...``, ``progress=end``);
stderr goes to a temporary file whose tail becomes the error message. A progress callback may raise
(a canceled job): the process is killed and the exception propagates. So may the stop check installed
with :func:`stop_check` (the job boundary installs one that raises when the job is canceled): it runs
about every :data:`STOP_CHECK_EVERY_S` seconds of every FFmpeg step, with or without a progress callback.
"""

from __future__ import annotations

import contextvars
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

import imageio_ffmpeg

from media.probe import MediaError

_ADDRESS = re.compile(r" @ 0x[0-9a-f]+\]")  # "[vost#0:0/libx264 @ 0x55d7...]": the address says nothing

GLOBAL_ARGS = ["-hide_banner", "-nostdin", "-y", "-v", "error", "-progress", "pipe:1", "-nostats"]


STOP_CHECK_EVERY_S = 0.5
"""Seconds between two calls of the installed stop check while an FFmpeg step runs."""

_STOP_CHECK: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("ffmpeg_stop_check",
                                                                                       default=None)


@contextmanager
def stop_check(check: Callable[[], None]) -> Iterator[None]:
    """While the block runs (in this thread/context), every FFmpeg step calls ``check()`` about every
    :data:`STOP_CHECK_EVERY_S` seconds; when it raises, FFmpeg is killed and the exception propagates."""
    token = _STOP_CHECK.set(check)
    try:
        yield
    finally:
        _STOP_CHECK.reset(token)


class FFmpegError(MediaError):
    """FFmpeg exited with an error; the message names the step and FFmpeg's last lines."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the FFmpeg binary shipped in the imageio-ffmpeg wheel."""
    return imageio_ffmpeg.get_ffmpeg_exe()


class FFmpegProcess:
    """One running FFmpeg command; :meth:`wait` follows its progress and checks its exit status."""

    def __init__(self, args: Sequence[str], what: str):
        self.what = what
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by wait()/kill()
        self._proc = subprocess.Popen([ffmpeg_exe(), *GLOBAL_ARGS, *args], stdout=subprocess.PIPE,
                                      stderr=self._stderr, stdin=subprocess.DEVNULL)

    def wait(self, expected_s: float | None = None, progress: Callable[[float], None] | None = None) -> None:
        """Block until FFmpeg ends; ``progress(fraction 0-1)`` is called as output time advances."""
        check = _STOP_CHECK.get()
        checked = time.monotonic()
        try:
            assert self._proc.stdout is not None
            for raw in self._proc.stdout:
                if check is not None and time.monotonic() - checked >= STOP_CHECK_EVERY_S:
                    check()  # e.g. raises JobCanceled: FFmpeg is killed below
                    checked = time.monotonic()
                line = raw.decode("ascii", "replace").strip()
                if progress and expected_s and line.startswith("out_time_us="):
                    value = line.partition("=")[2]
                    if value.lstrip("-").isdigit():
                        progress(max(0.0, min(1.0, int(value) / 1e6 / expected_s)))
            code = self._proc.wait()
        except BaseException:
            self.kill()
            raise
        if code != 0:
            tail = self._tail()
            if "No space left on device" in tail:  # the cause a creator can act on, not the muxer's noise
                raise FFmpegError(f"ffmpeg failed while {self.what}: no space left on the disk of the data "
                                  "folder (free some space, then retry)")
            raise FFmpegError(f"ffmpeg failed while {self.what} (exit {code}): {tail}")
        self._stderr.close()

    def kill(self) -> None:
        """Stop the process (used when a job is canceled or another step failed)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._stderr.close()

    def _tail(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        self._stderr.close()
        lines = [_ADDRESS.sub("]", ln) for ln in text.splitlines() if ln.strip()]
        if len(lines) > 6:  # the first lines name the cause, the last ones the consequence
            lines = [*lines[:3], "...", *lines[-3:]]
        return " | ".join(lines) or "no message"


def run_ffmpeg(args: Sequence[str], what: str, expected_s: float | None = None,
               progress: Callable[[float], None] | None = None) -> None:
    """Run FFmpeg with ``args`` (after the global options) and wait; raises :class:`FFmpegError`."""
    FFmpegProcess(args, what).wait(expected_s, progress)
