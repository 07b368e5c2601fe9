"""The audio of a variant, encoded on its own (AAC 48 kHz stereo, exactly the video's length).

Modes (issue 2): ``replace`` = the chosen track looped or trimmed to the video length with a short
fade-out (no track: keep the original); ``mix`` = the track under the original audio (source without
audio: just the track); ``keep`` = the original audio (none: a silent track, so every output has
audio). Results are cached under ``<cache_root>/audio/`` by (mode, track content, normalised copy,
length), so variants that share a video and a track share the encode. Encoding runs as a separate
FFmpeg process that can run while the video is being encoded (:func:`start_variant_audio`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media import ffmpeg_builder as fb
from media.canonical import FPS
from media.ffmpeg_run import FFmpegProcess
from media.normalize import NormalizedVideo, content_digest, synced_audio
from media.probe import MediaError, probe

AudioMode = Literal["replace", "mix", "keep"]
AUDIO_MODES: tuple[str, ...] = ("replace", "mix", "keep")


@dataclass
class PendingAudio:
    """An audio track that is ready (``process`` None) or being encoded into ``tmp``."""

    path: Path
    process: FFmpegProcess | None = None
    tmp: Path | None = None

    def finish(self) -> Path:
        """Wait for the encode and move it into the cache; returns the track's path."""
        if self.process is not None:
            try:
                self.process.wait()
                os.replace(self.tmp, self.path)
            finally:
                self.process = None
                if self.tmp is not None and self.tmp.exists():
                    self.tmp.unlink()
        return self.path

    def cancel(self) -> None:
        """Stop an encode in progress and remove its partial file."""
        if self.process is not None:
            self.process.kill()
            self.process = None
        if self.tmp is not None and self.tmp.exists():
            self.tmp.unlink()


def check_track(track: Path) -> None:
    """Raise MediaError unless ``track`` has an audio stream."""
    if not probe(track, check_decode=False).has_audio:
        raise MediaError(f"audio file has no audio stream: {Path(track).name}")


def resolve_mode(mode: str, track: Path | None, norm: NormalizedVideo) -> tuple[str, Path | None]:
    """The effective (mode, track): 'replace' | 'mix' | 'keep' | 'silent'."""
    if mode not in AUDIO_MODES:
        raise ValueError(f"audio_mode must be one of {', '.join(AUDIO_MODES)}, not {mode!r}")
    if track is not None and mode == "mix" and not norm.has_audio:
        return "replace", track
    if track is not None and mode in ("replace", "mix"):
        return mode, track
    return ("keep", None) if norm.has_audio else ("silent", None)


def start_variant_audio(norm: NormalizedVideo, track: Path | None, mode: str, cache_root: Path) -> PendingAudio:
    """Start (or find in the cache) the audio for a variant of ``norm``; call ``finish()`` for the path."""
    mode, track = resolve_mode(mode, track, norm)
    if mode == "keep":
        return PendingAudio(path=synced_audio(norm))
    duration = norm.frames / FPS
    parts = [mode, str(norm.frames)]
    if track is not None:
        parts.append(content_digest(Path(track)))
    if mode == "mix":
        parts.append(norm.key)
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]
    folder = Path(cache_root) / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.m4a"
    if path.is_file():
        os.utime(path)  # recently used: kept by media.normalize.prune_cache
        return PendingAudio(path=path)
    if track is not None:
        check_track(Path(track))
    fd, name = tempfile.mkstemp(prefix=f".tmp-{key}-", suffix=".m4a", dir=folder)
    os.close(fd)
    tmp = Path(name)
    if mode == "replace":
        args = fb.replace_audio_args(Path(track), tmp, duration)
    elif mode == "mix":
        args = fb.mix_audio_args(synced_audio(norm), Path(track), tmp, duration)
    else:
        args = fb.silent_audio_args(tmp, duration)
    return PendingAudio(path=path, process=FFmpegProcess(args, f"encoding the {mode} audio"), tmp=tmp)


def build_variant_audio(norm: NormalizedVideo, track: Path | None, mode: str, cache_root: Path) -> Path:
    """The variant's audio track path (encoded now unless cached)."""
    return start_variant_audio(norm, track, mode, cache_root).finish()
