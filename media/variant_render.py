"""Render one variant: a source video in the canonical 9:16 format, a hook overlaid for its time
window, and the chosen audio (issues 2 and 7).

Paths (``RenderResult.render_path``):
- ``fast``: the source is normalised once (cached per GOP segment, :mod:`media.normalize`); only the
  GOPs the hook covers are decoded, overlaid and re-encoded (cached and shared by every variant with
  the same video, hook text, look and window), the other GOPs are stream-copied, and everything is
  joined as MPEG-TS and remuxed with the separately encoded audio into a faststart MP4.
- ``full``: hook duration 0 (the whole video): one encode of the normalised copy with the overlay.
- ``copy``: no hook (or a hook starting after the end): pure stream copy plus the audio.
- ``single``: the only variant of a source in its batch, with no normalised copy cached and a source
  that is not stream-copyable: decode, fit, overlay and encode in one pass (:func:`one_pass_better`).
:func:`render_naive` is the original design's baseline (one full re-encode with ``drawtext``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from media import canonical
from media import ffmpeg_builder as fb
from media.audio_mix import Voice, build_audio
from media.audio_track import AudioMode, PendingAudio, check_track, start_variant_audio
from media.canonical import FPS
from media.captions import CaptionLook, band_size, build_track, place_band
from media.ffmpeg_builder import FitMode
from media.ffmpeg_run import run_ffmpeg
from media.normalize import (
    FusedWindows,
    NormalizedVideo,
    WindowRequest,
    check_decodes,
    complete_segments,
    decode_delay_s,
    key_lock,
    normalize_video,
    parameter_sets,
)
from media.probe import MediaError, probe
from media.settings import get_settings
from media.store import commit_file
from media.text_render import (
    SAFE_ZONE,
    HookPosition,
    TextStyle,
    fit_font_size,
    font_for_drawtext,
    render_hook,
    wrap_text,
)
from media.variant_options import VariantOptions

Progress = Callable[[float, str], None]
RenderPath = Literal["fast", "full", "copy", "captioned", "single"]
log = logging.getLogger(__name__)
HOOK_RENDER_VERSION = "h2"  # bump when text rendering changes: cached hook segments are keyed on it

__all__ = ["AudioMode", "FitMode", "HookPosition", "NormalizedVideo", "RenderResult", "TextStyle",
           "VariantOptions", "normalize_video", "render_naive", "render_variant"]

@dataclass
class RenderResult:
    """A finished variant. ``render_path``: "fast" | "full" | "copy"; ``reencoded_s``: seconds of
    video re-encoded for this variant (0 when its hook segment came from the cache); ``wall_s``:
    wall-clock seconds the call took; ``duration_s``: output video duration."""

    path: Path
    render_path: RenderPath
    duration_s: float
    wall_s: float
    reencoded_s: float
    frames: int = 0
    thumb_segment: Path | None = None  # a segment of this output (cached), its first frame = thumbnail


@dataclass(frozen=True)
class HookWindow:
    """The GOP range [first_gop, end_gop) a hook covers, and its times relative to ``first_gop``."""

    first_gop: int
    end_gop: int
    start_s: float
    end_s: float


def hook_window(start_s: float, duration_s: float, norm: NormalizedVideo) -> HookWindow | None:
    """Segment-aligned window of a hook shown from ``start_s`` for ``duration_s`` (clipped to the
    video); None when it starts at or after the end (nothing to show). Segments are GOPs: 1 s each in
    a transcoded copy, the source's own GOPs in a stream-copied one."""
    total = norm.duration_s
    end = min(total, start_s + duration_s)
    if start_s >= total - 1e-9 or end <= start_s:
        return None
    starts = [norm.start_s(i) for i in range(len(norm.segments))]
    first = max(i for i, t in enumerate(starts) if t <= start_s + 1e-9)
    last = next((i for i, t in enumerate(starts) if t >= end - 1e-9), len(starts))
    offset = starts[first]
    return HookWindow(first, max(last, first + 1), start_s - offset, end - offset)


def _stage(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda pct, msg: progress(lo + (hi - lo) * max(0.0, min(100.0, pct)) / 100.0, msg)


def _fraction(progress: Progress | None, msg: str) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda frac: progress(100.0 * frac, msg)


def _hook_key(norm: NormalizedVideo, text: str, options: VariantOptions, win: HookWindow) -> str:
    blob = json.dumps([HOOK_RENDER_VERSION, norm.key, canonical.hook_window_codec().key, text,
                       options.hook_key(), win.first_gop, win.end_gop, round(win.start_s, 6),
                       round(win.end_s, 6)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _windows_folder(cache_root: Path, norm: NormalizedVideo) -> Path:
    """Folder of the cached hook windows of the copy ``norm``."""
    return Path(cache_root) / "hooks" / norm.key


def _window_path(cache_root: Path, norm: NormalizedVideo, key: str) -> Path:
    """Where the hook window of cache key ``key`` in the copy ``norm`` is cached (its thumbnail beside it, .jpg)."""
    return _windows_folder(cache_root, norm) / f"{key}.ts"


def _hook_segment(norm: NormalizedVideo, text: str, options: VariantOptions, win: HookWindow,
                  cache_root: Path, work: Path, progress: Progress | None) -> tuple[Path, int]:
    """The cached re-encoded hook segment (path, frames encoded now: 0 when it was cached)."""
    key = _hook_key(norm, text, options, win)
    path = _window_path(cache_root, norm, key)
    with key_lock(key):
        if path.is_file():
            os.utime(path)  # recently used: kept by prune_cache
            return path, 0
        complete_segments(norm, win.first_gop - 1, win.end_gop + 1)  # decoded here and by the join check
        segments = norm.segments[win.first_gop:win.end_gop]
        for codec, joins in _window_plan(norm, segments, win):
            if _encode_windows(norm, win, [(key, text, options)], codec, joins, cache_root, work,
                               _fraction(progress, "encoding hook")):
                return path, sum(norm.segment_frames[win.first_gop:win.end_gop])
        raise HeaderMismatch(f"re-encoded hook window of {norm.source_name} cannot be joined")


def _shared_tail(overlays: list[fb.WindowOverlay], frames: int, codec: canonical.VideoCodec,
                 work: Path) -> tuple[int, Path] | None:
    """``(first frame, path)`` of the window's GOPs after every hook's end, encoded once for all the
    hooks of a run (:func:`media.ffmpeg_builder.hook_segments_args`), or None when there are none. Only
    for the in-band codec, whose IDR falls every :data:`media.canonical.GOP_FRAMES` frames of the window,
    so the tail starts at an IDR as it would in one encode. For a 3 s hook in a 4 s window (2 s GOPs)
    the last second is encoded once instead of once per hook."""
    if not codec.in_band:
        return None
    last = max(math.ceil(hook.end_s * FPS - 1e-6) for hook in overlays)  # frames with t < end_s show it
    first = -(-last // canonical.GOP_FRAMES) * canonical.GOP_FRAMES
    return (first, work / "tail.ts") if 0 < first < frames else None


def _encode_windows(norm: NormalizedVideo, win: HookWindow, hooks: list[tuple[str, str, VariantOptions]],
                    codec: canonical.VideoCodec, joins: Callable[[Path], bool], cache_root: Path, work: Path,
                    report: Callable[[float], None] | None = None) -> bool:
    """Encode the window ``win`` once per ``(cache key, hook text, options)`` of ``hooks`` in one FFmpeg
    run (the caller holds the keys' locks; every hook's own times lie within ``win``'s GOPs) and
    publish each, its thumbnail first, as ``<cache_root>/hooks/<copy>/<key>.ts`` when ``joins`` accepts
    the first (the others share its codec and cut points). False, nothing kept, when it does not."""
    folder = _windows_folder(cache_root, norm)
    folder.mkdir(parents=True, exist_ok=True)
    segments = norm.segments[win.first_gop:win.end_gop]
    frames = sum(norm.segment_frames[win.first_gop:win.end_gop])
    overlays, made = [], []
    try:
        for key, text, options in hooks:
            own = hook_window(options.hook_start_s, options.hook_duration_s, norm)
            hook = render_hook(text, options.style, options.hook_position)
            png = work / f"{key}.png"
            hook.image.save(png)
            fd, name = tempfile.mkstemp(prefix=f".tmp-{key}-", suffix=".ts", dir=folder)
            os.close(fd)
            tmp = Path(name)
            made.append((tmp, _window_path(cache_root, norm, key)))
            overlays.append(fb.WindowOverlay(png, hook.x, hook.y, own.start_s, own.end_s, tmp, tmp.with_suffix(".jpg")))
        shift = decode_delay_s(segments[0]) if codec.in_band else 0.0
        tail = _shared_tail(overlays, frames, codec, work)
        run_ffmpeg(fb.hook_segments_args(segments, overlays, frames, norm.ts_offset_s(win.first_gop), codec, shift,
                                         tail),
                   "encoding the hook window" if len(hooks) == 1 else f"encoding {len(hooks)} hook windows",
                   frames / FPS, report)
        if tail is not None:  # each window: its own frames with the hook, then the shared GOPs after it
            rest = tail[1].read_bytes()
            for tmp, _ in made:
                with open(tmp, "ab") as fh:
                    fh.write(rest)
        return _publish_windows(made, joins)
    finally:
        for tmp, _ in made:
            tmp.unlink(missing_ok=True)
            tmp.with_suffix(".jpg").unlink(missing_ok=True)


def _publish_windows(made: list[tuple[Path, Path]], joins: Callable[[Path], bool]) -> bool:
    """Move each encoded window ``(tmp, cached path)`` (its thumbnail ``tmp.jpg`` first) into the cache when
    every one ``joins``; False, nothing moved, otherwise."""
    if not all(joins(tmp) for tmp, _ in made):
        return False
    for tmp, path in made:  # the windows may be in local scratch and the cache on a shared mount
        commit_file(tmp.with_suffix(".jpg"), path.with_suffix(".jpg"))  # a cached window has its thumbnail
        commit_file(tmp, path)
    return True


MAX_WINDOWS_PER_RUN = 6
"""Hook windows encoded together by :func:`prepare_hook_windows` (one decode of the window, one overlay
and x264 encoder per hook): more would delay a batch's first result and hold more encoders' memory."""


def prepare_hook_windows(norm: NormalizedVideo, hooks: list[tuple[str | None, VariantOptions]],
                         cache_root: Path, scratch: Path | None = None, progress: Progress | None = None) -> int:
    """Encode the hook windows that several variants of one normalised source will use, those sharing a
    GOP range together (up to :data:`MAX_WINDOWS_PER_RUN` per FFmpeg run), so the GOPs are decoded once
    for all of them instead of once per variant (issue 15); each variant's :func:`render_variant` then
    finds its window cached.

    ``hooks``: ``(hook text, options)`` of the variants (a batch's variants of this source). Skipped:
    no hook, a hook on the whole video, captions (rendered another way), windows already cached, a
    group another thread is encoding, and ranges with a single window (the variant encodes it). The
    first codec of the window plan is used; a window that would not join leaves its group to the
    variants (each tries its whole plan). ``scratch``: folder for the hook PNGs (default
    ``<cache_root>/tmp``); ``progress(percent, message)`` as for :func:`render_variant`. Returns the
    number of windows encoded. Raises MediaError (FFmpeg failure, naming the step).
    """
    groups: dict[tuple[int, int], dict[str, tuple[str, VariantOptions, HookWindow]]] = {}
    for text, options in hooks:
        text = (text or "").strip()
        if not text or options.hook_duration_s == 0 or options.captions != "off" or options.fit != norm.fit:
            continue
        win = hook_window(options.hook_start_s, options.hook_duration_s, norm)
        if win is None:
            continue
        key = _hook_key(norm, text, options, win)
        if not _window_path(cache_root, norm, key).is_file():
            groups.setdefault((win.first_gop, win.end_gop), {})[key] = (text, options, win)
    log.debug("hook windows for %d variants of %s: %d not cached yet", len(hooks), norm.source_name,
             sum(len(found) for found in groups.values()))
    encoded = 0
    for found in groups.values():
        items = sorted(found.items(), key=lambda item: item[0])  # key order: see the gate below
        for at in range(0, len(items), MAX_WINDOWS_PER_RUN):
            chunk = items[at:at + MAX_WINDOWS_PER_RUN]
            if len(chunk) < 2:
                continue
            # the first key is the gate: another thread preparing this group (it holds it) encodes them all;
            # the others are taken in key order (a variant encoding its own window is waited for), so two
            # threads never wait on each other
            if not key_lock(chunk[0][0]).acquire(blocking=False):
                log.info("hook windows of %s: being encoded by another thread", norm.source_name)
                continue
            held = [chunk[0]]
            try:
                for key, value in chunk[1:]:
                    key_lock(key).acquire()
                    held.append((key, value))
                todo = [(key, text, options) for key, (text, options, _) in held
                        if not _window_path(cache_root, norm, key).is_file()]
                if len(todo) < 2:
                    continue
                win = held[0][1][2]
                complete_segments(norm, win.first_gop - 1, win.end_gop + 1)
                codec, joins = _window_plan(norm, norm.segments[win.first_gop:win.end_gop], win)[0]
                work = Path(tempfile.mkdtemp(prefix="windows-", dir=scratch or _tmp_root(cache_root)))
                try:
                    report = _fraction(progress, f"encoding {len(todo)} hook windows together")
                    if _encode_windows(norm, win, todo, codec, joins, cache_root, work, report):
                        encoded += len(todo)
                        log.info("%d hook windows of %s encoded in one run", len(todo), norm.source_name)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            finally:
                for key, _ in held:
                    key_lock(key).release()
    return encoded


class HeaderMismatch(RuntimeError):
    """A re-encoded window cannot be joined to the stream-copied GOPs (the full render is used)."""


def _window_plan(norm: NormalizedVideo, segments: list[Path], win: HookWindow):
    """``(codec, joins(encoded) -> bool)`` to try in order for a hook window.

    When the hook-window preset is the canonical one and the copy was transcoded, the window is
    encoded exactly as the copy was (same SPS/PPS by construction, checked). Otherwise (issue 15) first
    :func:`media.canonical.in_band_window_codec` (default ``ultrafast`` with deblocking, half the CPU
    of ``veryfast``): its own parameter sets under SPS/PPS id :data:`media.canonical.IN_BAND_SPS_ID`, in-band at the
    window's IDR, so decoders switch cleanly and back at the next IDR of the copy; then, for a
    stream-copied source, its own x264 options (identical SPS/PPS), and for a transcoded copy the
    canonical codec. An in-band window joins only when it decodes with FFmpeg silent between its
    neighbours (proved once per copy and codec)."""
    exact, window = canonical.current_codec(), canonical.hook_window_codec()
    reference = segments[0] if segments[0].is_file() else norm.reference_segment()

    def same_headers(enc: Path) -> bool:
        return parameter_sets(enc) == parameter_sets(reference)

    if not norm.copied and window == exact:
        return [(exact, same_headers)]
    before = list(norm.segments[max(0, win.first_gop - 1):win.first_gop])
    after = list(norm.segments[win.end_gop:win.end_gop + 1])
    frames = sum(norm.segment_frames[max(0, win.first_gop - 1):win.end_gop + 1])
    after_frames = sum(norm.segment_frames[win.end_gop:win.end_gop + 1])

    def decodes(codec: canonical.VideoCodec):
        """The first window of this codec in this copy is decoded between its neighbours; later ones
        join the same way (same parameter sets, same IDR cut points), so one proof per copy is kept. A
        transcoded copy is our own encode: how a window joins it depends on the two codecs (parameter
        sets, B-frame delay, GOP), not on the picture, so its proof is kept once per installation,
        codec pair and FFmpeg build (:func:`_encoder_proof`)."""
        proof = norm.folder / f"joins-{codec.key}.ok" if norm.copied else _encoder_proof(codec)

        def check(enc: Path) -> bool:
            if proof.is_file():
                return True
            try:
                check_decodes([*before, enc, *after], frames, f"hook window of {norm.source_name}",
                              frames - after_frames if after else None)
            except MediaError:
                return False
            proof.write_text("decoded cleanly between its neighbours\n")
            return True
        return check

    if not norm.copied:
        in_band = _transcoded_window_codec()
        return [(in_band, decodes(in_band)), (exact, same_headers)]
    in_band = canonical.in_band_window_codec()
    plan = [(in_band, decodes(in_band))]
    if norm.x264:  # the source's own settings: same SPS/PPS, but slower to encode than the canonical ones
        matched = canonical.VideoCodec(window.crf, window.preset, norm.x264)
        matched_decodes = decodes(matched)
        plan.append((matched, lambda enc: same_headers(enc) and matched_decodes(enc)))
    return plan


def _encoder_proof(window: canonical.VideoCodec) -> Path:
    """Where the proof that ``window``'s hook windows join a transcoded copy (canonical codec) is kept:
    ``<media>/cache/joins/<copy codec>-<window codec>-<FFmpeg build>.ok`` (the build: the executable's
    path, size and modification time)."""
    from media import store
    from media.ffmpeg_run import ffmpeg_exe

    exe = Path(ffmpeg_exe())
    st = exe.stat()
    build = hashlib.sha256(f"{exe.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    pair = hashlib.sha256(f"{canonical.current_codec().key}|{window.key}".encode()).hexdigest()[:16]
    folder = store.media_root() / "cache" / "joins"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{pair}-{build}.ok"


def _transcoded_window_codec() -> canonical.VideoCodec:
    """The first codec of :func:`_window_plan` for a transcoded copy: the canonical one when hook windows
    use its preset (same SPS/PPS), else :func:`media.canonical.in_band_window_codec` with the copy's
    BT.709 colour tags (the canonical encode writes them)."""
    exact, window = canonical.current_codec(), canonical.hook_window_codec()
    if window == exact:
        return exact
    in_band = canonical.in_band_window_codec()
    return canonical.VideoCodec(in_band.crf, in_band.preset,
                                f"{in_band.x264}:colorprim=bt709:transfer=bt709:colormatrix=bt709")


@lru_cache(maxsize=8)
def _reorder_delay_s(codec: canonical.VideoCodec) -> float:
    """PTS - DTS of the first packet ``codec`` writes (its B-frame delay, as :func:`decode_delay_s`
    reads it from a copy's segment), measured once per codec on a 4-frame 64x64 encode (~0.05 CPU s)."""
    with tempfile.TemporaryDirectory(prefix="delay-") as folder:
        out = Path(folder) / "probe.ts"
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30", "-frames:v", "8",
                    *canonical.video_codec_args(codec), "-f", "mpegts", str(out)], "measuring the encoder's frame delay")
        return decode_delay_s(out)


class BatchWindows:
    """The hook windows of a source's variants in one batch, encoded in the source's own normalisation
    run when it is transcoded (issue 15): the source is decoded and fitted once for the copy and every
    window, and the plain GOPs under the windows are not encoded at all (the copy defers them,
    :func:`media.normalize.complete_segments` makes them if a later variant needs them).

    Asked only when every variant shows a hook in the same GOP range (none needs those GOPs plain),
    with at most :data:`MAX_WINDOWS_PER_RUN` distinct windows and one GOP after them. Passed as
    ``normalize_video``'s ``windows``: it calls the object with the planned layout, then :meth:`publish`
    with the copy. ``hooks``: ``(hook text, options)`` of the variants; ``work``: folder for the PNGs and
    encoded windows."""

    def __init__(self, hooks: list[tuple[str | None, VariantOptions]], cache_root: Path, work: Path):
        self.hooks, self.cache_root, self.work = hooks, Path(cache_root), Path(work)
        self.asked: FusedWindows | None = None
        self.keys: list[str] = []
        self.win: HookWindow | None = None

    def __call__(self, layout: NormalizedVideo) -> FusedWindows | None:
        found: dict[str, tuple[str, VariantOptions, HookWindow]] = {}
        for text, options in self.hooks:
            text = (text or "").strip()
            if not text or options.hook_duration_s == 0 or options.captions != "off" or options.fit != layout.fit:
                return None
            win = hook_window(options.hook_start_s, options.hook_duration_s, layout)
            if win is None:
                return None
            found[_hook_key(layout, text, options, win)] = (text, options, win)
        ranges = {(w.first_gop, w.end_gop) for _, _, w in found.values()}
        if len(ranges) != 1 or not 0 < len(found) <= MAX_WINDOWS_PER_RUN:
            return None
        first, end = ranges.pop()
        if end >= len(layout.segments):  # the plain run needs a GOP after the window (and the join check)
            return None
        codec = _transcoded_window_codec()
        shift = 0.0 if codec == canonical.current_codec() else _reorder_delay_s(canonical.current_codec())
        self.work.mkdir(parents=True, exist_ok=True)
        overlays = []
        for key, (text, options, win) in sorted(found.items()):
            hook = render_hook(text, options.style, options.hook_position)
            png = self.work / f"{key}.png"
            hook.image.save(png)
            out = self.work / f"{key}.ts"
            overlays.append(fb.WindowOverlay(png, hook.x, hook.y, win.start_s, win.end_s, out, out.with_suffix(".jpg")))
            self.keys.append(key)
            self.win = win
        self.asked = FusedWindows(first, end, tuple(overlays), codec, shift)
        return self.asked

    def publish(self, norm: NormalizedVideo) -> int:
        """Cache the windows the normalisation encoded (after the join check of :func:`_window_plan`);
        returns how many (0 when the copy was cached already, stream-copied, or they would not join)."""
        if self.asked is None or self.win is None or not all(o.out.is_file() for o in self.asked.overlays):
            return 0
        if norm.deferred != (self.asked.first_gop, self.asked.end_gop) or norm.copied:
            return 0
        _windows_folder(self.cache_root, norm).mkdir(parents=True, exist_ok=True)
        codec, joins = _window_plan(norm, norm.segments[self.win.first_gop:self.win.end_gop], self.win)[0]
        if codec != self.asked.codec:
            return 0
        if codec != canonical.current_codec() and abs(decode_delay_s(norm.reference_segment()) - self.asked.dts_shift_s) > 1e-6:
            log.info("hook windows of %s: the copy's B-frame delay is not the one measured", norm.source_name)
            return 0
        made = [(o.out, _window_path(self.cache_root, norm, key)) for key, o in zip(self.keys, self.asked.overlays)]
        with contextlib.ExitStack() as held:
            for key in sorted(self.keys):
                held.enter_context(key_lock(key))
            if not _publish_windows(made, joins):
                log.info("hook windows of %s encoded with the normalisation do not join", norm.source_name)
                return 0
        log.info("%d hook windows of %s encoded with its normalisation", len(made), norm.source_name)
        return len(made)


def prepare_source(normalize: Callable[[WindowRequest | None], NormalizedVideo],
                   hooks: list[tuple[str | None, VariantOptions]], cache_root: Path, work: Path,
                   progress: Progress | None = None) -> NormalizedVideo:
    """What the first variant job of a source does before rendering its own variant (issue 15):
    ``normalize(windows)`` (e.g. :func:`normalize_video` with that keyword), asking for the variants'
    hook windows in the same run (:class:`BatchWindows`), then :func:`prepare_hook_windows` for those
    still missing. ``hooks``: ``(hook text, options)`` of the source's variants in the batch. A failure
    to encode windows together is only logged (each variant still renders its own). Returns the copy;
    raises what ``normalize`` raises."""
    Path(work).mkdir(parents=True, exist_ok=True)
    windows = BatchWindows(hooks, cache_root, Path(work) / "fused-windows")
    norm = normalize(windows)  # which calls windows.publish(copy) under its lock
    try:
        prepare_hook_windows(norm, hooks, cache_root, scratch=work, progress=progress)
    except (MediaError, ValueError) as exc:  # a saving only: each variant still renders its own window
        log.warning("hook windows of the variants of %s not encoded together: %s", norm.source_name, exc)
    finally:
        shutil.rmtree(Path(work) / "fused-windows", ignore_errors=True)
    return norm


def _render_full(norm: NormalizedVideo, text: str, options: VariantOptions, audio: Path, work: Path,
                 out: Path, progress: Progress | None) -> None:
    """One encode of the whole normalised copy with the hook (whole video when its duration is 0)."""
    complete_segments(norm)
    hook = render_hook(text, options.style, options.hook_position)
    png = work / "hook.png"
    hook.image.save(png)
    window = None
    if options.hook_duration_s > 0:
        window = (options.hook_start_s, options.hook_start_s + options.hook_duration_s)
    args = fb.full_render_args(joinable(list(norm.segments), work), png, hook.x, hook.y, audio, norm.frames,
                               canonical.current_codec(), out, window)
    run_ffmpeg(args, "rendering the variant", norm.duration_s, _fraction(progress, "rendering"))


def one_pass_better(source: Path, fit: str, audio_mode: str, cache_root: Path) -> bool:
    """Whether the only variant of ``source`` in a batch is cheaper rendered in one pass than by
    normalising first: no normalised copy is cached, the source is not stream-copyable (a copy
    costs almost nothing) and its audio is replaced (keep and mix use the copy's synced audio).
    Raises MediaError for an unusable source."""
    from media.normalize import cache_key, conformance, load_normalized

    source = Path(source)
    if audio_mode != "replace":
        return False
    folder = Path(cache_root) / "normalized" / cache_key(source, fit, canonical.current_codec())
    if load_normalized(folder) is not None:
        return False
    return not conformance(source, probe(source, check_decode=False)).ok


def _render_one_pass(source: Path, audio: Path | None, text: str, options: VariantOptions, out_path: Path,
                     cache_root: Path, progress: Progress | None, t0: float,
                     scratch: Path | None = None) -> RenderResult:
    info = probe(source)
    if not info.has_video:
        raise MediaError(f"no video stream in {source.name}")
    frames = max(1, round(info.duration_s * FPS))
    duration = frames / FPS
    work = Path(tempfile.mkdtemp(prefix="variant-", dir=scratch or _tmp_root(cache_root)))
    fd, name = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".part.mp4", dir=out_path.parent)
    os.close(fd)
    tmp_out = Path(name)
    try:
        png, x, y, window = None, 0, 0, None
        if text:
            hook = render_hook(text, options.style, options.hook_position)
            png, x, y = work / "hook.png", hook.x, hook.y
            hook.image.save(png)
            if options.hook_duration_s > 0:
                window = (options.hook_start_s, options.hook_start_s + options.hook_duration_s)
        # the replaced track through the same audio path as every variant (loop, fade, loudness)
        timeline = NormalizedVideo(key=f"single-{frames}", folder=work, segments=(), segment_frames=(frames,),
                                   fit=options.fit, audio=None, source_name=source.name)
        track = _start_audio(timeline, Path(audio), options, cache_root, None).finish()
        run_ffmpeg(fb.one_pass_args(source, png, x, y, window, track, options.fit, frames,
                                    canonical.current_codec(), tmp_out),
                   "rendering the variant in one pass", duration, _fraction(progress, "rendering"))
        os.replace(tmp_out, out_path)
    finally:
        tmp_out.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    if progress:
        progress(100.0, "done")
    return RenderResult(path=out_path, render_path="single", duration_s=duration,
                        wall_s=time.perf_counter() - t0, reencoded_s=duration, frames=frames)


def render_variant(source: Path, audio: Path | None, hook_text: str | None, options: VariantOptions,
                   out_path: Path, cache_root: Path, progress: Progress | None = None, *,
                   words: list[dict] | None = None, voice: Voice | None = None,
                   shared_cache: Path | None = None, one_pass: bool = False,
                   scratch: Path | None = None) -> RenderResult:
    """Render one variant of ``source`` into ``out_path`` (MP4, canonical format), atomically.

    ``audio``: the chosen track (None: keep the original, or silence); ``hook_text`` None/blank = no
    hook. ``words`` (``{"word", "start_s", "end_s"}`` on the variant's timeline): captions in
    ``options.caption_style`` (None or empty: no captions); ``voice``: a voice-over mixed over the audio,
    the bed ducked by ``options.duck_db``; the audio is normalised to ``options.loudness_lufs`` unless
    that is None or ``NOVAI_LOUDNESS_NORMALIZE`` is false. ``shared_cache``: where caption tracks are
    cached (default ``cache_root``). ``one_pass``: the planner found this the source's only variant:
    render it in one pass when :func:`one_pass_better` says so (a replaced track, no captions, no
    voice). ``scratch``: folder for work files (a farm worker's local disk; default
    ``<cache_root>/tmp``). ``progress(percent 0-100, message)`` may raise to cancel: the
    exception propagates and ``out_path`` is not created. Raises TypeError (options not a
    VariantOptions), ValueError, MediaError (unusable media, FFmpeg failure; names the file or step).
    """
    t0 = time.perf_counter()
    if not isinstance(options, VariantOptions):
        raise TypeError(f"options: not VariantOptions: {options!r}")
    out_path = Path(out_path)
    if audio is not None:
        check_track(Path(audio))
    if (one_pass and audio is not None and not words and voice is None
            and one_pass_better(Path(source), options.fit, options.audio_mode, cache_root)):
        out_path.parent.mkdir(parents=True, exist_ok=True)
        return _render_one_pass(Path(source), audio, (hook_text or "").strip(), options, out_path, cache_root,
                                progress, t0, scratch)
    norm = normalize_video(Path(source), options.fit, cache_root, _stage(progress, 0, 40))
    text = (hook_text or "").strip()
    win = hook_window(options.hook_start_s, options.hook_duration_s, norm) if text else None
    if words:
        mode: RenderPath = "captioned"
    elif text and options.hook_duration_s == 0:
        mode = "full"
    else:
        mode = "fast" if win is not None else "copy"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="variant-", dir=scratch or _tmp_root(cache_root)))
    fd, name = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".part.mp4", dir=out_path.parent)
    os.close(fd)
    tmp_out = Path(name)
    pending: PendingAudio | None = None
    reencoded = 0.0
    try:
        pending = _start_audio(norm, Path(audio) if audio else None, options, cache_root, voice)
        segments = list(norm.segments)
        if mode == "captioned":
            _render_captioned(norm, text, options, words, pending.finish(), work, tmp_out,
                              Path(shared_cache or cache_root), _stage(progress, 40, 100))
            reencoded = norm.duration_s
        if mode == "fast":
            try:
                seg, frames = _hook_segment(norm, text, options, win, cache_root, work, _stage(progress, 40, 90))
                complete_segments(norm, 0, win.first_gop)  # the GOPs copied around the window
                complete_segments(norm, win.end_gop)
                segments[win.first_gop:win.end_gop] = [seg]
                reencoded = frames / FPS
            except HeaderMismatch:  # the window cannot be joined: one full encode instead
                mode = "full"
        if mode == "full":
            _render_full(norm, text, options, pending.finish(), work, tmp_out, _stage(progress, 40, 100))
            reencoded = norm.duration_s
        elif mode != "captioned":
            if mode == "copy":
                complete_segments(norm)
            audio_path = pending.finish()
            if progress:
                progress(92.0, "joining")
            in_band = mode == "fast" and parameter_sets(segments[win.first_gop]) != \
                parameter_sets(norm.reference_segment())  # a window with its own SPS/PPS: mux as avc3
            run_ffmpeg(fb.remux_args(joinable(segments, work), audio_path, tmp_out, in_band), "joining the variant")
        os.replace(tmp_out, out_path)
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    finally:
        tmp_out.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    if progress:
        progress(100.0, "done")
    if mode == "fast":
        thumb = segments[win.first_gop]  # the hook window: the thumbnail shows the hook
    else:
        thumb = norm.segments[min(len(norm.segments) - 1, hook_window(norm.duration_s * 0.1, 1, norm).first_gop)]
    return RenderResult(path=out_path, render_path=mode, duration_s=norm.duration_s,
                        wall_s=time.perf_counter() - t0, reencoded_s=reencoded, frames=norm.frames,
                        thumb_segment=thumb)


def variant_facts(result: RenderResult):
    """What the renderer knows about a variant it wrote (canonical format, its frame count and
    duration), as the :class:`media.probe.MediaInfo` the catalog stores: no re-reading of the file."""
    from media.probe import MediaInfo

    return MediaInfo(path=result.path, format_name="mov,mp4,m4a,3gp,3g2,mj2", duration_s=result.duration_s,
                     size_bytes=result.path.stat().st_size, has_video=True, width=canonical.WIDTH,
                     height=canonical.HEIGHT, fps=float(FPS), frame_count=result.frames, video_codec="h264",
                     pix_fmt=canonical.PIX_FMT, has_audio=True, audio_codec="aac",
                     sample_rate=canonical.AUDIO_RATE, channels=canonical.AUDIO_CHANNELS,
                     audio_duration_s=result.duration_s)


def variant_thumbnail(result: RenderResult, dest: Path) -> Path:
    """The variant's thumbnail from the first frame (an IDR) of a segment it was joined from: the
    hook window when there is one (its encode wrote that frame as a JPEG beside it: nothing is decoded),
    else that one frame is decoded, not the finished MP4."""
    from media.thumbnails import save_thumbnail, video_frame

    if result.thumb_segment is not None and result.thumb_segment.with_suffix(".jpg").is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)  # written by the window's encode (a hook window)
        shutil.copyfile(result.thumb_segment.with_suffix(".jpg"), dest)
        return dest
    source = result.thumb_segment if result.thumb_segment and result.thumb_segment.is_file() else result.path
    return save_thumbnail(video_frame(source, 0.0), dest)


def catalog_facts(result: RenderResult, thumb: Path):
    """(facts, thumbnail path) for cataloguing a finished variant (see :func:`variant_facts`)."""
    return variant_facts(result), variant_thumbnail(result, thumb)


class _ThreadedAudio:
    """The mixed audio built in a thread while the video encodes (same finish/cancel as PendingAudio)."""

    _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="variant-audio")

    def __init__(self, build: Callable[[], Path]):
        # copy_context: the job's FFmpeg stop check (a ContextVar) also applies in the audio thread
        self._future: Future = self._pool.submit(contextvars.copy_context().run, build)

    def finish(self) -> Path:
        return self._future.result()

    def cancel(self) -> None:
        if not self._future.cancel():
            try:
                self._future.result()
            except Exception:  # noqa: BLE001, S110 - the render already failed; this is clean-up only
                pass


def _start_audio(norm: NormalizedVideo, track: Path | None, options: VariantOptions, cache_root: Path,
                 voice: Voice | None):
    """The legacy audio path (issue 2) when nothing of issue 11 applies, else :mod:`media.audio_mix`."""
    loudness = options.loudness_lufs if get_settings().loudness_normalize else None
    ducking = options.audio_mode == "mix" and track is not None and norm.has_audio and options.duck_db > 0
    if voice is None and loudness is None and not ducking:
        return start_variant_audio(norm, track, options.audio_mode, cache_root)
    if track is not None:
        check_track(track)
    return _ThreadedAudio(lambda: build_audio(norm, track, options.audio_mode, cache_root, voice=voice,
                                              duck_db=options.duck_db, loudness_lufs=loudness))


def _render_captioned(norm: NormalizedVideo, text: str, options: VariantOptions, words: list[dict],
                      audio: Path, work: Path, out: Path, shared_cache: Path, progress: Progress | None) -> None:
    """One encode of the normalised copy with the caption band and the hook (issue 11)."""
    complete_segments(norm)
    look = CaptionLook(options.caption_style, options.caption_font_size, options.caption_color,
                       options.caption_highlight_color, options.caption_stroke_color)
    track = build_track(words, look, shared_cache)
    hook_png, hook_xy, window, hook_box = None, (0, 0), None, None
    if text:
        hook = render_hook(text, options.style, options.hook_position)
        hook_png = work / "hook.png"
        hook.image.save(hook_png)
        hook_xy, hook_box = (hook.x, hook.y), hook.bbox
        if options.hook_duration_s > 0:
            window = (options.hook_start_s, options.hook_start_s + options.hook_duration_s)
    xy = place_band(track.height, options.caption_position, hook_box)
    args = fb.captioned_render_args(joinable(list(norm.segments), work), hook_png, hook_xy, window,
                                    track.list_file, xy, audio, norm.frames, canonical.current_codec(), out)
    run_ffmpeg(args, "rendering the captioned variant", norm.duration_s, _fraction(progress, "rendering"))


SAMPLE_CAPTION = [{"word": w, "start_s": i * 0.3, "end_s": i * 0.3 + 0.25}
                  for i, w in enumerate(["This", "is", "how", "your", "captions", "look"])]


def preview_frame(source: Path, hook_text: str | None, options: VariantOptions, at_s: float = 1.0,
                  words: list[dict] | None = None):
    """One 1080x1920 frame (PIL RGB image) of ``source`` at ``at_s`` seconds with the hook and, when
    ``options.captions`` is on, a caption band in the chosen style (``words`` or a sample sentence), placed
    as the render places them. Raises MediaError, ValueError."""
    from PIL import Image

    from media.captions import draw_band, plan_frames

    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        png = Path(tmp) / "frame.png"
        info = probe(Path(source), check_decode=False)
        run_ffmpeg(fb.frame_args(Path(source), options.fit, min(at_s, max(0.0, info.duration_s - 0.1)), png),
                   "taking a preview frame")
        frame = Image.open(png).convert("RGBA")
        frame.load()
    box = None
    text = (hook_text or "").strip()
    if text:
        hook = render_hook(text, options.style, options.hook_position)
        frame.alpha_composite(hook.image, (hook.x, hook.y))
        box = hook.bbox
    if options.captions != "off":
        look = CaptionLook(options.caption_style, options.caption_font_size, options.caption_color,
                           options.caption_highlight_color, options.caption_stroke_color)
        frames = plan_frames(words or SAMPLE_CAPTION, look.style)
        width, height = band_size(look)
        band = draw_band(frames[min(1, len(frames) - 1)], look, width, height)
        frame.alpha_composite(band, place_band(height, options.caption_position, box))
    return frame.convert("RGB")


MAX_CONCAT_URL = 8000  # longer concat: URLs (very long sources) are joined into one file instead


def joinable(segments: list[Path], work: Path) -> list[Path]:
    """``segments`` as given, or one file holding their bytes back to back when the ``concat:`` URL
    would be too long for a command line (Windows allows 32,767 characters)."""
    if len(fb.concat_url(segments)) <= MAX_CONCAT_URL:
        return segments
    joined = work / "joined.ts"
    with joined.open("wb") as out:
        for seg in segments:
            with seg.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    return [joined]


def _tmp_root(cache_root: Path) -> Path:
    path = Path(cache_root) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def render_naive(source: Path, audio: Path | None, hook_text: str | None, options: VariantOptions,
                 out_path: Path, preset: str = "medium") -> RenderResult:
    """Baseline of the original design: one full x264 encode of the source per variant (x264's
    default preset ``medium`` unless given), the hook drawn by FFmpeg's ``drawtext`` from a text file
    (primary font only: no emoji/CJK/Arabic fallback), audio replaced by ``audio`` (``mix`` is treated
    as ``replace``) or kept. For benchmarks; the studio renders with :func:`render_variant`."""
    t0 = time.perf_counter()
    source, out_path = Path(source), Path(out_path)
    info = probe(source)
    if not info.has_video:
        raise MediaError(f"no video stream in {source.name}")
    frames = max(1, round(info.duration_s * FPS))
    duration = frames / FPS
    text = (hook_text or "").strip()
    size = options.style.font_size or (fit_font_size(text)[0] if text else 0)
    track = Path(audio) if audio is not None and options.audio_mode != "keep" else None
    offset = info.audio_start_s - info.video_start_s if info.has_audio else None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="naive-", dir=out_path.parent) as tmp:
        textfile = None
        if text:
            textfile = Path(tmp) / "hook.txt"
            lines, _ = wrap_text(text, size, SAFE_ZONE.width)
            textfile.write_text("\n".join(lines), encoding="utf-8")
        y = {"top": SAFE_ZONE.top, "center": SAFE_ZONE.top + SAFE_ZONE.height // 3,
             "bottom": SAFE_ZONE.top + SAFE_ZONE.height * 2 // 3}[options.hook_position]
        end = None if options.hook_duration_s == 0 else options.hook_start_s + options.hook_duration_s
        settings = canonical.current_codec()
        part = Path(tmp) / "out.mp4"
        run_ffmpeg(fb.naive_render_args(source, track, textfile, Path(font_for_drawtext()), size, y,
                                        options.hook_start_s, end, options.fit, frames, duration, offset,
                                        settings.crf, preset, part), "rendering (naive)")
        commit_file(part, out_path)
    return RenderResult(path=out_path, render_path="full", duration_s=duration,
                        wall_s=time.perf_counter() - t0, reencoded_s=duration)
