"""Normalised copies of source videos: the canonical format, cut into one MPEG-TS file per GOP.

Made once per (source content, fit mode, codec settings) and cached under
``<cache_root>/normalized/<key>/``: ``seg_00000.ts`` ... (30 frames = 1 s each, the last one shorter),
``audio.m4a`` (the source's own audio in sync with the video, AAC 48 kHz stereo, exactly as long as
the video; absent when the source has none) and ``meta.json``. A folder is built in a temporary
sibling and moved into place with ``os.replace``, so readers only ever see complete folders and two
workers asking at once both end up with the same, complete copy (issue 7).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av

from media import canonical
from media import ffmpeg_builder as fb
from media.canonical import FPS, GOP_FRAMES
from media.ffmpeg_run import run_ffmpeg
from media.probe import MediaError, probe

Progress = Callable[[float, str], None]
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class NormalizedVideo:
    """A cached canonical copy: per-GOP segments (in order), their frame counts, the synced audio."""

    key: str
    folder: Path
    segments: tuple[Path, ...]
    segment_frames: tuple[int, ...]
    fit: str
    audio: Path | None
    source_name: str

    @property
    def frames(self) -> int:
        """Total number of video frames."""
        return sum(self.segment_frames)

    @property
    def duration_s(self) -> float:
        """Video duration in seconds (frames / 30)."""
        return self.frames / FPS

    @property
    def has_audio(self) -> bool:
        return self.audio is not None


def key_lock(key: str) -> threading.Lock:
    """A process-wide lock per cache key (thread workers never build the same entry twice)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


@lru_cache(maxsize=1024)
def _digest_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_digest(path: Path) -> str:
    """sha256 of the file's bytes (remembered per path, size and modification time)."""
    st = path.stat()
    return _digest_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


def cache_key(source: Path, fit: str, codec: canonical.VideoCodec) -> str:
    """Identity of a normalised copy: source content, fit mode, canonical version and codec settings."""
    text = f"{content_digest(source)}|{fit}|{codec.key}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load_normalized(folder: Path) -> NormalizedVideo | None:
    """The normalised copy in ``folder``, or None when it is absent or incomplete."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    segments = tuple(folder / name for name in meta["segments"])
    audio = folder / meta["audio"] if meta.get("audio") else None
    if not all(p.is_file() for p in segments) or (audio is not None and not audio.is_file()):
        return None
    return NormalizedVideo(key=meta["key"], folder=folder, segments=segments,
                           segment_frames=tuple(meta["segment_frames"]), fit=meta["fit"], audio=audio,
                           source_name=meta.get("source_name", ""))


def parameter_sets(segment: Path) -> frozenset[bytes]:
    """The H.264 SPS and PPS NAL units (Annex B, in-band) of a segment's first packet."""
    with av.open(str(segment)) as container:
        data = next((bytes(p) for p in container.demux(video=0) if p.size), b"")
    nals = (n.rstrip(b"\x00") for n in data.split(b"\x00\x00\x01") if n)
    return frozenset(n for n in nals if n and n[0] & 0x1F in (7, 8))


def count_frames(segment: Path) -> int:
    """Video packets (= frames) in one MPEG-TS segment (demux only, no decoding)."""
    with av.open(str(segment)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def cached_normalized(source: Path, fit: str, cache_root: Path) -> NormalizedVideo | None:
    """The complete cached normalised copy of ``source`` for ``fit``, or None (nothing is made; no lock)."""
    source = Path(source)
    if fit not in fb.FIT_MODES or not source.is_file():
        return None
    found = load_normalized(Path(cache_root) / "normalized" / cache_key(source, fit, canonical.current_codec()))
    if found is not None:
        _touch(found.folder / "meta.json")
    return found


def normalize_video(source: Path, fit: str, cache_root: Path, progress: Progress | None = None,
                    scratch: Path | None = None):
    """Return the canonical normalised copy of ``source`` for ``fit``, making it if not cached.

    Raises ValueError for an unknown fit, :class:`media.probe.MediaError` when ``source`` is not a
    usable video (the message names the file), :class:`media.ffmpeg_run.FFmpegError` if FFmpeg fails.
    ``progress(percent, message)`` may raise to cancel; nothing partial is left in the cache.
    ``scratch``: build the copy there (a farm worker's local disk), then copy it into the (shared) cache
    under a temporary name and rename it into place; default: build it in the cache folder itself.
    Across processes and machines, callers serialise with a farm-wide lock (``media.work_lock``).
    """
    if fit not in fb.FIT_MODES:
        raise ValueError(f"fit must be one of {', '.join(fb.FIT_MODES)}, not {fit!r}")
    source = Path(source)
    if not source.is_file():
        raise MediaError(f"file not found: {source.name}")
    codec = canonical.current_codec()
    key = cache_key(source, fit, codec)
    base = Path(cache_root) / "normalized"
    folder = base / key
    with key_lock(key):
        found = load_normalized(folder)
        if found is None:  # probe (validate) only when there is work to do
            info = probe(source)
            if not info.has_video:
                raise MediaError(f"no video stream in {source.name}")
            base.mkdir(parents=True, exist_ok=True)
            if scratch is not None:
                Path(scratch).mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=scratch or base))
            try:
                _build(source, info, fit, codec, key, tmp, progress)
                _publish_from(tmp, base, folder, key)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            found = load_normalized(folder)
            if found is None:
                raise MediaError(f"normalised copy of {source.name} is incomplete in the cache")
    _touch(found.folder / "meta.json")
    if progress:
        progress(100.0, "source normalised")
    return found


def _touch(path: Path) -> None:
    """Mark a cache entry as used now (:func:`prune_cache` keeps recently used entries)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune_cache(cache_root: Path, max_age_s: float) -> int:
    """Delete cache entries not used for ``max_age_s`` seconds; returns the bytes freed.

    Entries: normalised copies (age = last use, see :func:`normalize_video`), re-encoded hook
    windows, variant audio tracks and leftovers in ``tmp/`` (e.g. from a killed worker). An entry in
    use by a running render is at most as old as that render, so keep ``max_age_s`` above the
    longest render (an hour is safe).
    """
    root = Path(cache_root)
    limit = time.time() - max_age_s
    freed = 0
    candidates: list[tuple[Path, Path]] = []  # (entry to delete, file whose mtime dates it)
    for folder in (root / "normalized").glob("*"):
        candidates.append((folder, folder / "meta.json" if (folder / "meta.json").exists() else folder))
    for sub in ("hooks", "audio"):
        candidates += [(p, p) for p in (root / sub).rglob("*") if p.is_file()]
    candidates += [(p, p) for p in (root / "tmp").glob("*")]
    for entry, stamp in candidates:
        try:
            if stamp.stat().st_mtime >= limit:
                continue
            if entry.is_dir():
                freed += sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
                shutil.rmtree(entry, ignore_errors=True)
            else:
                freed += entry.stat().st_size
                entry.unlink(missing_ok=True)
        except OSError:
            continue
    return freed


def _publish_from(built: Path, base: Path, folder: Path, key: str) -> None:
    """Publish a folder built anywhere: renamed when on the cache's filesystem, else copied into a
    temporary sibling in the cache first (so the cache only ever shows complete folders)."""
    if built.stat().st_dev == base.stat().st_dev:
        _publish(built, folder)
        return
    staged = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=base))
    try:
        for item in built.iterdir():
            shutil.copyfile(item, staged / item.name)
        _publish(staged, folder)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _publish(tmp: Path, folder: Path) -> None:
    """Move the finished folder into place; if another process won the race, keep theirs."""
    if load_normalized(folder) is not None:
        return
    if folder.exists():  # an incomplete leftover (crash): replace it
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        if load_normalized(folder) is None:
            raise


def _build(source: Path, info, fit: str, codec: canonical.VideoCodec, key: str, tmp: Path,
           progress: Progress | None) -> None:
    frames = max(1, round(info.duration_s * FPS))

    def report(fraction: float) -> None:
        if progress:
            progress(90.0 * fraction, f"normalising {source.name}")

    run_ffmpeg(fb.normalize_video_args(source, tmp / "seg_%05d.ts", fit, frames, codec),
               f"normalising {source.name}", frames / FPS, report)
    segments = sorted(p.name for p in tmp.glob("seg_*.ts"))
    if not segments:
        raise MediaError(f"no video frames could be decoded from {source.name}")
    counts = [count_frames(tmp / name) for name in segments]
    if any(c > GOP_FRAMES for c in counts) or any(c != GOP_FRAMES for c in counts[:-1]):
        raise MediaError(f"normalising {source.name} gave GOPs of {counts} frames, not {GOP_FRAMES}")
    audio_name = None
    if info.has_audio:
        if progress:
            progress(90.0, f"normalising the audio of {source.name}")
        offset = info.audio_start_s - info.video_start_s
        run_ffmpeg(fb.original_audio_args(source, tmp / "audio.m4a", sum(counts) / FPS, offset),
                   f"extracting the audio of {source.name}")
        audio_name = "audio.m4a"
    meta = {"key": key, "fit": fit, "codec": codec.key, "source_name": source.name, "segments": segments,
            "segment_frames": counts, "audio": audio_name}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
