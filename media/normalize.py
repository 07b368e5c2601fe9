"""Normalised copies of source videos: the canonical format, cut into one MPEG-TS file per GOP.

Made once per (source content, fit mode, codec settings) and cached under
``<cache_root>/normalized/<key>/``: ``seg_00000.ts`` ... (30 frames = 1 s each, the last one shorter),
``audio.m4a`` (the source's own audio in sync with the video, AAC 48 kHz stereo, exactly as long as
the video; absent when the source has none) and ``meta.json``. A folder is built in a temporary
sibling and moved into place with ``os.replace``, so readers only ever see complete folders and two
workers asking at once both end up with the same, complete copy (issue 7).

A transcode may encode hook windows in its own run (issue 15, :class:`FusedWindows`): then the GOPs under
them are *deferred* (``meta.json`` ``"deferred": [first, end]``, the files absent) and
:func:`complete_segments` makes them from the source the first time anything needs them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import av

from media import canonical
from media import ffmpeg_builder as fb
from media.canonical import FPS, GOP_FRAMES
from media.ffmpeg_run import ffmpeg_exe, run_ffmpeg
from media.probe import MediaError, probe

Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)
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
    copied: bool = False  # stream-copied from a conforming source (issue 15), not transcoded
    segment_starts: tuple[float, ...] = ()  # each segment's first timestamp (s, TS_OFFSET_S based)
    x264: str = ""  # the copied source's x264 options (hook windows encode with them), "" = none known
    source: Path | None = None  # the source file (not stored): the synced audio is extracted from it when used
    audio_offset_s: float = 0.0  # the source's audio start - video start, seconds
    # GOPs [first, end) not encoded yet (issue 15: their hook windows were encoded in the transcode's own
    # run instead); made from the source by :func:`complete_segments` when something needs them
    deferred: tuple[int, int] | None = None

    def is_deferred(self, index: int) -> bool:
        """Whether segment ``index`` may not exist yet (see :func:`complete_segments`)."""
        return self.deferred is not None and self.deferred[0] <= index < self.deferred[1]

    def reference_segment(self) -> Path:
        """A segment that exists (the first not deferred): its parameter sets are the copy's."""
        return next(p for i, p in enumerate(self.segments) if not self.is_deferred(i))

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

    def start_s(self, index: int) -> float:
        """Start of segment ``index`` in seconds from the start of the video."""
        if self.segment_starts:
            return self.segment_starts[index] - self.segment_starts[0]
        return sum(self.segment_frames[:index]) / FPS

    def ts_offset_s(self, index: int) -> float:
        """The timestamp (s) the first frame of segment ``index`` carries in its MPEG-TS file, as the
        ``-output_ts_offset`` of a re-encode that replaces it (:data:`fb.TS_OFFSET_S` based)."""
        if self.segment_starts:
            return self.segment_starts[index]
        return fb.TS_OFFSET_S + sum(self.segment_frames[:index]) / FPS


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


def load_normalized(folder: Path, source: Path | None = None) -> NormalizedVideo | None:
    """The normalised copy in ``folder`` (of ``source``, from which its synced audio is extracted when a
    variant first uses it), or None when it is absent or incomplete."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    segments = tuple(folder / name for name in meta["segments"])
    audio = folder / meta["audio"] if meta.get("audio") else None
    lazy = "audio_offset_s" in meta  # extracted on first use (issue 15), not with the video
    deferred = tuple(meta["deferred"]) if meta.get("deferred") else None
    needed = [p for i, p in enumerate(segments) if deferred is None or not deferred[0] <= i < deferred[1]]
    if not all(p.is_file() for p in needed) or (audio is not None and not lazy and not audio.is_file()):
        return None
    return NormalizedVideo(key=meta["key"], folder=folder, segments=segments,
                           segment_frames=tuple(meta["segment_frames"]), fit=meta["fit"], audio=audio,
                           source_name=meta.get("source_name", ""), copied=bool(meta.get("copied")),
                           segment_starts=tuple(meta.get("segment_starts", ())), x264=meta.get("x264", ""),
                           source=Path(source) if source is not None else None,
                           audio_offset_s=float(meta.get("audio_offset_s", 0.0)), deferred=deferred)


def synced_audio(norm: NormalizedVideo) -> Path | None:
    """The source's own audio in sync with the normalised video (AAC, exactly its length), extracted
    from the source the first time a variant keeps or mixes it (a replaced track never needs it);
    None when the source has no audio. Raises MediaError when it must be extracted and the source
    is gone, FFmpegError when FFmpeg fails."""
    if norm.audio is None or norm.audio.is_file():
        return norm.audio
    if norm.source is None or not norm.source.is_file():
        raise MediaError(f"the original audio of {norm.source_name} is not in the cache and the source "
                         "file is not available")
    with key_lock(f"{norm.key}-audio"):
        if not norm.audio.is_file():
            fd, name = tempfile.mkstemp(prefix=".tmp-audio-", suffix=".m4a", dir=norm.folder)
            os.close(fd)
            tmp = Path(name)
            try:
                run_ffmpeg(fb.original_audio_args(norm.source, tmp, norm.frames / FPS, norm.audio_offset_s),
                           f"extracting the audio of {norm.source_name}")
                os.replace(tmp, norm.audio)
            finally:
                tmp.unlink(missing_ok=True)
    return norm.audio


def parameter_sets(segment: Path) -> frozenset[bytes]:
    """The H.264 SPS and PPS NAL units (Annex B, in-band) of a segment's first packet (remembered per
    file version: cached segments are written once and renamed into place)."""
    stat = Path(segment).stat()
    return _parameter_sets(str(segment), stat.st_size, stat.st_mtime_ns)


def open_demux_only(path: Path | str):
    """A PyAV container for reading packets only: ``skip_frame=all`` keeps FFmpeg's stream probing from
    decoding frames (3 ms instead of 17 ms per 1080x1920 segment; sizes and time bases are still read,
    the pixel format is not)."""
    return av.open(str(path), options={"skip_frame": "all"})


@lru_cache(maxsize=1024)
def _parameter_sets(segment: str, size: int, mtime_ns: int) -> frozenset[bytes]:
    with open_demux_only(segment) as container:
        data = next((bytes(p) for p in container.demux(video=0) if p.size), b"")
    nals = (n.rstrip(b"\x00") for n in data.split(b"\x00\x00\x01") if n)
    return frozenset(n for n in nals if n and n[0] & 0x1F in (7, 8))


def decode_delay_s(segment: Path) -> float:
    """Seconds by which a segment's first video packet is decoded before it is shown (PTS - DTS: the
    B-frame reordering delay of its encoder; 0 without B-frames)."""
    with open_demux_only(segment) as container:
        stream = container.streams.video[0]
        first = next((p for p in container.demux(stream) if p.size and p.pts is not None), None)
        if first is None or first.dts is None:
            return 0.0
        return float((first.pts - first.dts) * stream.time_base)


def segment_facts(segment: Path) -> tuple[int, float]:
    """(video packets = frames, earliest presentation time in seconds with :data:`MPEGTS_MUX_DELAY_S`
    taken off) of one MPEG-TS segment, in one demux pass (no decoding)."""
    with open_demux_only(segment) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.size and p.pts is not None]
    if not pts:
        return 0, 0.0
    return len(pts), float(min(pts) * stream.time_base) - MPEGTS_MUX_DELAY_S


def count_frames(segment: Path) -> int:
    """Video packets (= frames) in one MPEG-TS segment (demux only, no decoding)."""
    return segment_facts(segment)[0]


def cached_normalized(source: Path, fit: str, cache_root: Path) -> NormalizedVideo | None:
    """The complete cached normalised copy of ``source`` for ``fit``, or None (nothing is made; no lock)."""
    source = Path(source)
    if fit not in fb.FIT_MODES or not source.is_file():
        return None
    found = load_normalized(Path(cache_root) / "normalized" / cache_key(source, fit, canonical.current_codec()),
                            source)
    if found is not None:
        _touch(found.folder / "meta.json")
    return found


@dataclass(frozen=True)
class FusedWindows:
    """Hook windows a transcode encodes in its own run (issue 15; asked for by
    :class:`media.variant_render.BatchWindows`): the plain GOPs [``first_gop``, ``end_gop``) are then
    left out (the copy's ``deferred`` range) and each overlay's ``out`` (times relative to the window's
    first frame) gets the window with its hook, encoded with ``codec`` and decode timestamps moved
    ``dts_shift_s`` earlier (:func:`media.ffmpeg_builder.normalize_with_windows_args`)."""

    first_gop: int
    end_gop: int
    overlays: tuple[fb.WindowOverlay, ...]
    codec: canonical.VideoCodec
    dts_shift_s: float


class WindowRequest(Protocol):
    """Asks a transcode for hook windows (:class:`media.variant_render.BatchWindows`)."""

    def __call__(self, layout: NormalizedVideo) -> FusedWindows | None:
        """Given the layout the transcode will have (its GOPs, key and folder; nothing exists yet), the
        hook windows to encode in its run, or None."""

    def publish(self, norm: NormalizedVideo) -> int:
        """Called with the finished copy while its lock is still held (no other worker sees the copy
        before its windows are cached); returns the number of windows kept."""


def normalize_video(source: Path, fit: str, cache_root: Path, progress: Progress | None = None,
                    scratch: Path | None = None, windows: WindowRequest | None = None):
    """Return the canonical normalised copy of ``source`` for ``fit``, making it if not cached.

    Raises ValueError for an unknown fit, :class:`media.probe.MediaError` when ``source`` is not a
    usable video (the message names the file), :class:`media.ffmpeg_run.FFmpegError` if FFmpeg fails.
    ``progress(percent, message)`` may raise to cancel; nothing partial is left in the cache.
    ``scratch``: build the copy there (a farm worker's local disk), then copy it into the (shared) cache
    under a temporary name and rename it into place; default: build it in the cache folder itself.
    Across processes and machines, callers serialise with a farm-wide lock (``media.work_lock``).
    ``windows``: when the copy is made by a transcode, hook windows encoded in the same run
    (:class:`FusedWindows`; each overlay's ``out`` exists afterwards only if they were).
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
        found = load_normalized(folder, source)
        if found is None:  # probe (validate) only when there is work to do; the build decodes what it
            info = probe(source, check_decode=False)  # keeps (the copy its last GOP, the transcode all)
            if not info.has_video:
                raise MediaError(f"no video stream in {source.name}")
            base.mkdir(parents=True, exist_ok=True)
            if scratch is not None:
                Path(scratch).mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=scratch or base))
            try:
                _build(source, info, fit, codec, key, tmp, progress, windows, folder)
                _publish_from(tmp, base, folder, key)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            found = load_normalized(folder, source)
            if found is None:
                raise MediaError(f"normalised copy of {source.name} is incomplete in the cache")
            if windows is not None:
                windows.publish(found)
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
           progress: Progress | None, windows: WindowRequest | None = None, folder: Path | None = None) -> None:
    try:
        verdict = conformance(source, info)
    except (av.FFmpegError, OSError) as exc:  # unreadable packets: the transcode below names the problem
        verdict = Conformance(False, f"unreadable ({exc})")
    if verdict.ok:
        try:
            _build_copy(source, info, fit, codec, key, tmp, verdict, progress)
            return
        except (MediaError, av.FFmpegError, OSError) as exc:  # any check failed: transcode instead
            log.info("stream copy of %s not usable (%s): transcoding", source.name, exc)
            for leftover in tmp.iterdir():
                leftover.unlink()
    fused = None
    if windows is not None:
        frames = max(1, round(info.duration_s * FPS))
        counts = tuple(min(GOP_FRAMES, frames - at) for at in range(0, frames, GOP_FRAMES))
        where = Path(folder or tmp)
        layout = NormalizedVideo(key=key, folder=where, segments=tuple(where / name for name in _segment_names(len(counts))),
                                 segment_frames=counts, fit=fit, audio=None, source_name=source.name, source=source)
        try:
            fused = windows(layout)
        except (MediaError, ValueError, OSError) as exc:  # a saving only: the copy is made without them
            log.warning("hook windows of %s not asked of its normalisation: %s", source.name, exc)
    if fused is not None:
        try:
            _build_transcode(source, info, fit, codec, key, tmp, progress, fused)
            return
        except MediaError as exc:  # e.g. fewer frames than the header says: the plain transcode decides
            log.info("hook windows of %s not encoded with its normalisation (%s)", source.name, exc)
            for leftover in [*tmp.iterdir(), *(o.out for o in fused.overlays), *(o.thumb for o in fused.overlays if o.thumb)]:
                Path(leftover).unlink(missing_ok=True)
    _build_transcode(source, info, fit, codec, key, tmp, progress)


def _build_transcode(source: Path, info, fit: str, codec: canonical.VideoCodec, key: str, tmp: Path,
                     progress: Progress | None, fused: FusedWindows | None = None) -> None:
    """Transcode ``source`` into canonical GOP segments in ``tmp`` (with ``fused``: its hook windows
    too, its GOP range left out). The source is not decoded beforehand: a truncated or undecodable
    file shows here, in the frames the transcode gets (MediaError naming it)."""
    frames = max(1, round(info.duration_s * FPS))

    def report(fraction: float) -> None:
        if progress:
            progress(90.0 * fraction, f"normalising {source.name}")

    if fused is None:
        args = fb.normalize_video_args(source, tmp / "seg_%05d.ts", fit, frames, codec)
    else:
        args = fb.normalize_with_windows_args(source, tmp / "seg_%05d.ts", fit, frames, codec, fused.first_gop,
                                              fused.end_gop, fused.overlays, fused.codec, fused.dts_shift_s)
    run_ffmpeg(args, f"normalising {source.name}", frames / FPS, report)
    segments = sorted(p.name for p in tmp.glob("seg_*.ts"))
    if not segments:
        raise MediaError(f"no video frames could be decoded from {source.name}")
    counts = [count_frames(tmp / name) for name in segments]
    extra = {}
    if fused is not None:
        first, end = fused.first_gop, fused.end_gop
        if len(segments) <= first:  # nothing after the window (the names are checked below)
            raise MediaError(f"normalising {source.name} gave no segment after its hook windows")
        missing = _segment_names(end)[first:]
        window = (end - first) * GOP_FRAMES
        for overlay in fused.overlays:
            if not overlay.out.is_file() or count_frames(overlay.out) != window:
                raise MediaError(f"hook window of {source.name} encoded with the normalisation is incomplete")
        segments[first:first] = missing
        counts[first:first] = [GOP_FRAMES] * (end - first)
        extra = {"deferred": [first, end]}
    if any(c > GOP_FRAMES for c in counts) or any(c != GOP_FRAMES for c in counts[:-1]):
        raise MediaError(f"normalising {source.name} gave GOPs of {counts} frames, not {GOP_FRAMES}")
    # what decoding the file's last tenth before the transcode caught (media.probe's check, 0.3 CPU s): a
    # file whose frames stop more than a tenth and a second before its header's duration is truncated
    if sum(counts) < 0.9 * frames - FPS:
        raise MediaError(f"media file is truncated (its last {(frames - sum(counts)) / FPS:.1f} s are missing): "
                         f"{source.name}")
    if segments != _segment_names(len(segments)):
        raise MediaError(f"normalising {source.name} gave segments {segments}")
    _finish(source, info, fit, codec, key, tmp, segments, counts, extra, progress)


def _segment_names(count: int) -> list[str]:
    """The file names of a copy's first ``count`` segments (``fb.normalize_video_args``' pattern)."""
    return [f"seg_{i:05d}.ts" for i in range(count)]


def complete_segments(norm: NormalizedVideo, first: int = 0, end: int | None = None) -> None:
    """Make the deferred GOPs of ``norm`` that fall in [``first``, ``end``) (all: None) from its source
    (:func:`media.ffmpeg_builder.normalize_range_args`: decoded from the start to the range's end,
    encoded with the copy's codec: same parameter sets, checked). Nothing to do for a complete copy.
    Raises MediaError (no source known, FFmpeg failure, headers that differ)."""
    if norm.deferred is None:
        return
    end = len(norm.segments) if end is None else end
    lo, hi = max(first, norm.deferred[0]), min(end, norm.deferred[1])
    if lo >= hi or all(norm.segments[i].is_file() for i in range(lo, hi)):
        return
    a, b = norm.deferred  # made all at once: one decode of the source's start
    with key_lock(f"{norm.key}:deferred"):
        if all(norm.segments[i].is_file() for i in range(a, b)):
            return
        if norm.source is None or not Path(norm.source).is_file():
            raise MediaError(f"the source of {norm.source_name} is needed to finish its normalised copy")
        codec = canonical.current_codec()  # the copy was found by its key, which holds this codec
        with tempfile.TemporaryDirectory(prefix=".tmp-deferred-", dir=norm.folder) as folder:
            run_ffmpeg(fb.normalize_range_args(Path(norm.source), Path(folder) / "seg_%05d.ts", norm.fit, a, b, codec),
                       f"normalising {norm.source_name}", (b - a) * GOP_FRAMES / FPS)
            made = [Path(folder) / norm.segments[i].name for i in range(a, b)]
            reference = norm.reference_segment()
            for path in made:
                if not path.is_file() or count_frames(path) != GOP_FRAMES:
                    raise MediaError(f"normalising {norm.source_name}: GOP {path.name} incomplete")
                if parameter_sets(path) != parameter_sets(reference):
                    raise MediaError(f"normalising {norm.source_name}: GOP {path.name} has other parameter sets")
            for i, path in zip(range(a, b), made):
                os.replace(path, norm.segments[i])
        log.info("deferred GOPs %d-%d of %s made", a, b, norm.source_name)


def _finish(source: Path, info, fit: str, codec: canonical.VideoCodec, key: str, tmp: Path,
            segments: list[str], counts: list[int], extra: dict, progress: Progress | None) -> None:
    """Write ``meta.json`` (last step of both builds). The synced audio is extracted when a variant
    first keeps or mixes it (:func:`synced_audio`): a replaced track, the common case, never needs it."""
    audio = {}
    if info.has_audio:
        audio = {"audio": "audio.m4a", "audio_offset_s": info.audio_start_s - info.video_start_s}
    meta = {"key": key, "fit": fit, "codec": codec.key, "source_name": source.name, "segments": segments,
            "segment_frames": counts, "audio": None, **audio, **extra}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))


# --- Conforming sources: segmented by stream copy instead of transcoded (issue 15) -----------------

MAX_COPY_GOP_FRAMES = 4 * FPS  # longer GOPs make every hook window too long to re-encode cheaply
MPEGTS_MUX_DELAY_S = 1.4  # FFmpeg's mpegts muxer adds 2 x max_delay (0.7 s) to every timestamp


@dataclass(frozen=True)
class Conformance:
    """Whether a source already is the canonical picture (``ok``) and can be cut by stream copy at
    its keyframes; ``reason`` says why not; ``x264``: the x264 options its hook windows encode
    with (from the source's own x264 SEI, "" when it was not made by x264)."""

    ok: bool
    reason: str = ""
    x264: str = ""


# x264's SEI option names -> its ``--x264-params`` names; options that decide the parameter sets or
# the quality are taken over, thread counts and analysis details are left to the preset.
_X264_KEEP = {"cabac": "cabac", "ref": "ref", "me": "me", "subme": "subme", "psy": "psy", "psy_rd": "psy-rd",
              "mixed_ref": "mixed-refs", "me_range": "merange", "chroma_me": "chroma-me", "trellis": "trellis",
              "8x8dct": "8x8dct", "fast_pskip": "fast-pskip", "bframes": "bframes", "b_pyramid": "b-pyramid",
              "b_adapt": "b-adapt", "b_bias": "b-bias", "weightb": "weightb", "open_gop": "open-gop",
              "weightp": "weightp", "keyint": "keyint", "keyint_min": "min-keyint", "scenecut": "scenecut",
              "intra_refresh": "intra-refresh", "rc_lookahead": "rc-lookahead", "mbtree": "mbtree",
              "crf": "crf", "bitrate": "bitrate", "qcomp": "qcomp", "qpmin": "qpmin", "qpmax": "qpmax",
              "qpstep": "qpstep", "ip_ratio": "ipratio", "pb_ratio": "pbratio", "vbv_maxrate": "vbv-maxrate",
              "vbv_bufsize": "vbv-bufsize", "crf_max": "crf-max", "nal_hrd": "nal-hrd",
              "constrained_intra": "constrained-intra", "bluray_compat": "bluray-compat", "interlaced": "interlaced"}
_X264_DIRECT = {"0": "none", "1": "spatial", "2": "temporal", "3": "auto"}


def matching_x264_params(sei_options: str) -> str:
    """``--x264-params`` that reproduce an x264 stream's parameter sets and rate control from the
    ``options:`` text of its x264 SEI (e.g. ``cabac=1 ref=3 ... rc=crf crf=20.0``); "" when the
    rate control is not CRF or ABR (then its parameter sets cannot be predicted)."""
    fields = dict(item.split("=", 1) for item in sei_options.split() if "=" in item)
    if fields.get("rc") not in ("crf", "abr", "cbr"):
        return ""
    out = []
    for name, value in fields.items():
        if name == "deblock":
            on, alpha, beta = (value.split(":") + ["0", "0"])[:3]
            out.append(f"deblock={alpha},{beta}" if on == "1" else "no-deblock=1")
        elif name == "direct":
            out.append(f"direct={_X264_DIRECT.get(value, 'spatial')}")
        elif name == "aq":
            mode, _, strength = value.partition(":")
            out.append(f"aq-mode={mode}" + (f":aq-strength={strength}" if strength else ""))
        elif name == "cqm" and value != "0":
            return ""  # custom quantiser matrices are not reproducible from the SEI
        elif name == "psy_rd":
            out.append(f"psy-rd={value.replace(':', ',')}")
        elif name in _X264_KEEP and not (name == "crf_max" and value in ("0", "0.0")):
            if name == "nal_hrd" and value == "none":
                continue
            out.append(f"{_X264_KEEP[name]}={value}")
    return ":".join(out)


def _nal_types(data: bytes, length_size: int) -> list[int]:
    """NAL unit types of one length-prefixed (avcC) H.264 access unit."""
    types, i = [], 0
    while i + length_size < len(data):
        size = int.from_bytes(data[i:i + length_size], "big")
        if size <= 0 or i + length_size + size > len(data):
            break
        types.append(data[i + length_size] & 0x1F)
        i += length_size + size
    return types


def conformance(source: Path, info) -> Conformance:
    """Decide whether ``source`` decodes to the canonical picture and can be stream-copied: H.264
    in MP4/MOV (avcC), yuv420p limited range, exactly 1080x1920 with square pixels, no rotation,
    constant 30 frames/s, the first frame and every keyframe an IDR, GOPs of at most
    :data:`MAX_COPY_GOP_FRAMES`. Reads every packet header (demux, no decoding)."""
    if info.video_codec != "h264":
        return Conformance(False, f"codec {info.video_codec}")
    if (info.width, info.height) != (canonical.WIDTH, canonical.HEIGHT) or info.rotation:
        return Conformance(False, f"{info.width}x{info.height} rotated {info.rotation}")
    if info.pix_fmt != canonical.PIX_FMT:
        return Conformance(False, f"pixel format {info.pix_fmt}")
    with av.open(str(source)) as container:
        if not container.format.name.startswith("mov"):
            return Conformance(False, f"container {container.format.name}")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        extradata = bytes(ctx.extradata or b"")
        sar = ctx.sample_aspect_ratio
        if not extradata or extradata[0] != 1:
            return Conformance(False, "no avcC parameter sets")
        if sar not in (None, 0) and sar != 1:
            return Conformance(False, f"sample aspect ratio {sar}")
        if ctx.color_range == 2:  # full (JPEG) range
            return Conformance(False, "full-range colour")
        length_size = (extradata[4] & 0x03) + 1
        tb = stream.time_base
        pts: list[int] = []
        keys: list[int] = []
        sei = ""
        for n, packet in enumerate(p for p in container.demux(stream) if p.size):
            if packet.pts is None:
                return Conformance(False, "packets without timestamps")
            pts.append(packet.pts)
            if n == 0:
                match = re.search(rb"x264 - core .*?options: ([ -~]+)", bytes(packet))
                sei = match.group(1).decode("ascii") if match else ""
            if packet.is_keyframe:
                if 5 not in _nal_types(bytes(packet), length_size):
                    return Conformance(False, f"keyframe {n} is not an IDR")
                keys.append(n)
    if not keys or keys[0] != 0:
        return Conformance(False, "does not start on a keyframe")
    steps = {b - a for a, b in itertools.pairwise(sorted(pts))}
    if len(steps) != 1 or abs(float(steps.pop() * tb) - 1 / FPS) > 1e-4:
        return Conformance(False, "not a constant 30 frames/s")
    gops = [b - a for a, b in zip(keys, [*keys[1:], len(pts)])]
    if max(gops) > MAX_COPY_GOP_FRAMES:
        return Conformance(False, f"GOPs of up to {max(gops)} frames")
    return Conformance(True, x264=matching_x264_params(sei))


JOIN_TAIL_FRAMES = 15
"""Frames decoded past the last join by :func:`check_decodes` (half a second at 30 frames/s): a bad join
shows at once, at the next segment's first frames (parameter sets switched back, references of its IDR
and of the B-frames reordered around it); what follows is the source's or our own GOP, decoded as
always."""


def check_decodes(segments: list[Path], frames: int, what: str, last_join: int | None = None) -> None:
    """Join ``segments`` as a variant is joined (MPEG-TS back to back, stream-copied into MP4): the MP4
    must hold ``frames`` video frames (packets, demux only); decoding it (one decoder thread: about a
    fifth less CPU than frame threads for a check nobody waits on frame by frame) must print no FFmpeg
    warning. ``last_join`` (frame index where the last segment starts) stops the decode
    :data:`JOIN_TAIL_FRAMES` past it; None decodes every frame. Raises :class:`MediaError` naming
    ``what`` otherwise."""
    upto = frames if last_join is None else min(frames, last_join + JOIN_TAIL_FRAMES)
    with tempfile.TemporaryDirectory(prefix="join-check-") as folder:
        joined = Path(folder) / "joined.mp4"
        run_ffmpeg(["-i", fb.concat_url(segments), "-map", "0:v:0", "-c", "copy", "-f", "mp4", str(joined)],
                   f"joining {what}")
        with open_demux_only(joined) as container:
            packets = sum(1 for p in container.demux(video=0) if p.size)
        res = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "warning", "-threads", "1",
                              "-i", str(joined), "-map", "0:v:0", "-frames:v", str(upto),
                              "-progress", "pipe:1", "-nostats", "-f", "null", "-"],
                             check=False, capture_output=True, text=True)
    counts = [line.partition("=")[2] for line in res.stdout.splitlines() if line.startswith("frame=")]
    decoded = int(counts[-1]) if counts and counts[-1].isdigit() else -1
    if res.returncode != 0 or res.stderr.strip() or decoded != upto or packets != frames:
        raise MediaError(f"{what}: {decoded}/{upto} frames decode cleanly, {packets}/{frames} in the join "
                         f"({res.stderr.strip()[-300:]})")


def _build_copy(source: Path, info, fit: str, codec: canonical.VideoCodec, key: str, tmp: Path,
                verdict: Conformance, progress: Progress | None) -> None:
    """Cut a conforming source at its keyframes by stream copy; every check failing raises."""
    if progress:
        progress(5.0, f"cutting {source.name} at its keyframes (stream copy)")
    run_ffmpeg(fb.copy_segments_args(source, tmp / "seg_%05d.ts"), f"cutting {source.name}")
    segments = sorted(p.name for p in tmp.glob("seg_*.ts"))
    facts = [segment_facts(tmp / name) for name in segments]
    counts, starts = [n for n, _ in facts], [t for _, t in facts]
    expected = max(1, round(info.duration_s * FPS))
    if not segments or abs(sum(counts) - expected) > 1 or max(counts) > MAX_COPY_GOP_FRAMES:
        raise MediaError(f"stream copy of {source.name} gave segments of {counts} frames")
    spacing = [round((b - a) * FPS) for a, b in itertools.pairwise(starts)]
    if spacing != counts[:-1] or starts[0] < 0:
        raise MediaError(f"stream copy of {source.name}: segment timestamps {starts} do not follow")
    if progress:
        progress(50.0, f"checking the cut of {source.name}")
    # the first join (to JOIN_TAIL_FRAMES past it) and the whole last segment (the full proof is in the tests)
    check_decodes([tmp / n for n in segments[:2]], sum(counts[:2]), f"stream copy of {source.name}",
                  counts[0] if len(segments) > 1 else None)
    if len(segments) > 1:
        check_decodes([tmp / segments[-1]], counts[-1], f"stream copy of {source.name}")
    _finish(source, info, fit, codec, key, tmp, segments, counts,
            {"copied": True, "segment_starts": starts, "x264": verdict.x264}, progress)
