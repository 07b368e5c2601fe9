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

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from media import canonical
from media import ffmpeg_builder as fb
from media.audio_track import AUDIO_MODES, AudioMode, PendingAudio, check_track, start_variant_audio
from media.canonical import FPS
from media.ffmpeg_builder import FIT_MODES, FitMode
from media.ffmpeg_run import run_ffmpeg
from media.normalize import NormalizedVideo, check_decodes, key_lock, normalize_video, parameter_sets
from media.probe import MediaError, probe
from media.text_render import (
    SAFE_ZONE,
    HookPosition,
    TextStyle,
    fit_font_size,
    font_for_drawtext,
    parse_colour,
    render_hook,
    wrap_text,
)

Progress = Callable[[float, str], None]
RenderPath = Literal["fast", "full", "copy", "single"]
HOOK_POSITIONS: tuple[str, ...] = ("top", "center", "bottom")
BATCH_KEYS = frozenset({"assignment", "seed"})  # batch-level keys that may travel with the options
HOOK_RENDER_VERSION = "h1"  # bump when text rendering changes: cached hook segments are keyed on it

__all__ = ["AudioMode", "FitMode", "HookPosition", "NormalizedVideo", "RenderResult", "TextStyle",
           "VariantOptions", "normalize_video", "render_naive", "render_variant"]

_STYLE_KEYS = {"font_size": "font_size", "text_color": "color", "color": "color",
               "stroke_color": "stroke_color", "stroke_width": "stroke_width", "box": "box",
               "box_color": "box_color", "box_opacity": "box_opacity"}
_OPTION_KEYS = ("hook_position", "hook_start_s", "hook_duration_s", "audio_mode", "fit")


def _number(key: str, value, lo: float, hi: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: not a number: {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not lo <= number <= hi:
        raise ValueError(f"{key}: {value!r} is outside {lo:g}..{hi:g}")
    return number


def _integer(key: str, value, lo: int, hi: int) -> int:
    number = _number(key, value, lo, hi)
    if number != int(number):
        raise ValueError(f"{key}: not a whole number: {value!r}")
    return int(number)


def _boolean(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in {"0", "1", "true", "false", "yes", "no"}:
        return str(value).strip().lower() in {"1", "true", "yes"}
    raise ValueError(f"{key}: not true/false: {value!r}")


def _choice(key: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _check_style(style: TextStyle) -> None:
    if not isinstance(style, TextStyle):
        raise TypeError(f"style: not a TextStyle: {style!r}")
    if style.font_size is not None:
        _integer("font_size", style.font_size, 8, 400)
    if style.stroke_width is not None:
        _integer("stroke_width", style.stroke_width, 0, 40)
    parse_colour(style.color, "text_color")
    parse_colour(style.stroke_color, "stroke_color")
    parse_colour(style.box_color, "box_color")
    if not isinstance(style.box, bool):
        raise ValueError(f"box: not true/false: {style.box!r}")  # noqa: TRY004 - a bad option value
    _number("box_opacity", style.box_opacity, 0.0, 1.0)


@dataclass(frozen=True)
class VariantOptions:
    """How a variant looks and sounds. Seconds for times; ``hook_duration_s`` 0 = the whole video.

    Invalid values raise ValueError naming the key and the value (also on direct construction).
    """

    hook_position: HookPosition = "top"
    hook_start_s: float = 0.0
    hook_duration_s: float = 3.0
    audio_mode: AudioMode = "replace"
    fit: FitMode = "blur"
    style: TextStyle = field(default_factory=TextStyle)

    def __post_init__(self) -> None:
        _choice("hook_position", self.hook_position, HOOK_POSITIONS)
        _number("hook_start_s", self.hook_start_s, 0.0, 86_400.0)
        _number("hook_duration_s", self.hook_duration_s, 0.0, 86_400.0)
        _choice("audio_mode", self.audio_mode, AUDIO_MODES)
        _choice("fit", self.fit, FIT_MODES)
        _check_style(self.style)

    @classmethod
    def from_dict(cls, d: dict | None) -> VariantOptions:
        """Options from the API's flat keys (``hook_position``, ``hook_start_s``, ``hook_duration_s``,
        ``audio_mode``, ``fit``, ``font_size``, ``text_color``, ``stroke_color``, ``stroke_width``,
        ``box``, ``box_color``, ``box_opacity``). None/"" = default (``font_size`` "auto" = auto-fit);
        batch keys (``assignment``, ``seed``) are ignored; any other key raises ValueError."""
        d = dict(d or {})
        unknown = sorted(k for k in d if k not in _OPTION_KEYS and k not in _STYLE_KEYS and k not in BATCH_KEYS)
        if unknown:
            raise ValueError(f"unknown option key(s): {', '.join(map(repr, unknown))}")
        kwargs: dict = {}
        for key in _OPTION_KEYS:
            value = d.get(key)
            if value is None or value == "":
                continue
            if key in ("hook_start_s", "hook_duration_s"):
                value = _number(key, value, 0.0, 86_400.0)
            kwargs[key] = value
        style: dict = {}
        for key, attr in _STYLE_KEYS.items():
            value = d.get(key)
            if value is None or value == "" or (key == "font_size" and value == "auto"):
                continue
            if attr in ("font_size", "stroke_width"):
                value = _integer(key, value, 0, 400)
            elif attr == "box":
                value = _boolean(key, value)
            elif attr == "box_opacity":
                value = _number(key, value, 0.0, 1.0)
            else:
                parse_colour(value, key)
            style[attr] = value
        return cls(style=TextStyle(**style), **kwargs)

    def to_dict(self) -> dict:
        """Flat dict with the keys :meth:`from_dict` reads (``from_dict(o.to_dict()) == o``)."""
        out = {k: getattr(self, k) for k in _OPTION_KEYS}
        s = self.style
        out.update(font_size=s.font_size, text_color=s.color, stroke_color=s.stroke_color,
                   stroke_width=s.stroke_width, box=s.box, box_color=s.box_color, box_opacity=s.box_opacity)
        return out


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
                       asdict(options.style), options.hook_position, win.first_gop, win.end_gop,
                       round(win.start_s, 6), round(win.end_s, 6)])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _hook_segment(norm: NormalizedVideo, text: str, options: VariantOptions, win: HookWindow,
                  cache_root: Path, work: Path, progress: Progress | None) -> tuple[Path, int]:
    """The cached re-encoded hook segment (path, frames encoded now: 0 when it was cached)."""
    key = _hook_key(norm, text, options, win)
    folder = Path(cache_root) / "hooks" / norm.key
    path = folder / f"{key}.ts"
    with key_lock(key):
        if path.is_file():
            os.utime(path)  # recently used: kept by prune_cache
            return path, 0
        folder.mkdir(parents=True, exist_ok=True)
        hook = render_hook(text, options.style, options.hook_position)
        png = work / f"{key}.png"
        hook.image.save(png)
        segments = norm.segments[win.first_gop:win.end_gop]
        frames = sum(norm.segment_frames[win.first_gop:win.end_gop])
        fd, name = tempfile.mkstemp(prefix=f".tmp-{key}-", suffix=".ts", dir=folder)
        os.close(fd)
        tmp = Path(name)
        try:
            for codec, joins in _window_plan(norm, segments, win):
                args = fb.hook_segment_args(segments, png, hook.x, hook.y, win.start_s, win.end_s, frames,
                                            norm.ts_offset_s(win.first_gop), codec, tmp)
                run_ffmpeg(args, "encoding the hook window", frames / FPS, _fraction(progress, "encoding hook"))
                if joins(tmp):
                    break
                if not norm.copied:
                    _MISMATCHED.add(codec.key)  # this preset's headers differ: use the canonical one
            else:
                raise HeaderMismatch(f"re-encoded hook window of {norm.source_name} cannot be joined")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path, frames


_MISMATCHED: set[str] = set()


class HeaderMismatch(RuntimeError):
    """A re-encoded window cannot be joined to the stream-copied GOPs (the full render is used)."""


def _window_codecs() -> list[canonical.VideoCodec]:
    """Codecs to try for a hook window: the faster hook-window preset (unless its SPS/PPS were
    seen to differ), then the canonical codec, whose headers match by construction."""
    fast, exact = canonical.hook_window_codec(), canonical.current_codec()
    return [exact] if fast == exact or fast.key in _MISMATCHED else [fast, exact]


IN_BAND_SPS_ID = 7  # SPS/PPS id of a window that carries its own parameter sets in a copied source


def _window_plan(norm: NormalizedVideo, segments: list[Path], win: HookWindow):
    """``(codec, joins(encoded) -> bool)`` to try in order for a hook window.

    Transcoded copy: the codecs of :func:`_window_codecs`; a window joins when its SPS/PPS equal the
    copy's. Stream-copied source (issue 15): first the source's own x264 options (identical
    SPS/PPS), then the canonical codec under SPS/PPS id :data:`IN_BAND_SPS_ID`, its parameter sets
    in-band at the window's IDR so decoders switch cleanly and back at the next copied IDR; either
    joins only when the window decodes with FFmpeg silent between its copied neighbours."""
    if not norm.copied:
        want = parameter_sets(segments[0])
        return [(codec, lambda enc: parameter_sets(enc) == want) for codec in _window_codecs()]
    window = canonical.hook_window_codec()
    before = list(norm.segments[max(0, win.first_gop - 1):win.first_gop])
    after = list(norm.segments[win.end_gop:win.end_gop + 1])
    frames = sum(norm.segment_frames[max(0, win.first_gop - 1):win.end_gop + 1])

    def decodes(codec: canonical.VideoCodec):
        """The first window of this codec in this copy is decoded between its neighbours; later ones
        join the same way (same parameter sets, same IDR cut points), so one proof per copy is kept."""
        proof = norm.folder / f"joins-{codec.key}.ok"

        def check(enc: Path) -> bool:
            if proof.is_file():
                return True
            try:
                check_decodes([*before, enc, *after], frames, f"hook window of {norm.source_name}")
            except MediaError:
                return False
            proof.write_text("decoded cleanly between its stream-copied neighbours\n")
            return True
        return check

    in_band = canonical.VideoCodec(window.crf, window.preset,
                                   f"{canonical.x264_params()}:crf={window.crf}:sps-id={IN_BAND_SPS_ID}")
    plan = [(in_band, decodes(in_band))]
    if norm.x264:  # the source's own settings: same SPS/PPS, but slower to encode than the canonical ones
        want = parameter_sets(segments[0])
        matched = canonical.VideoCodec(window.crf, window.preset, norm.x264)
        matched_decodes = decodes(matched)
        plan.append((matched, lambda enc: parameter_sets(enc) == want and matched_decodes(enc)))
    return plan


def _render_full(norm: NormalizedVideo, text: str, options: VariantOptions, audio: Path, work: Path,
                 out: Path, progress: Progress | None) -> None:
    """One encode of the whole normalised copy with the hook (whole video when its duration is 0)."""
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
    costs almost nothing) and the audio is not mixed with the source's (that uses the copy's audio).
    Raises MediaError for an unusable source."""
    from media.normalize import cache_key, conformance, load_normalized

    source = Path(source)
    if audio_mode == "mix":
        return False
    folder = Path(cache_root) / "normalized" / cache_key(source, fit, canonical.current_codec())
    if load_normalized(folder) is not None:
        return False
    return not conformance(source, probe(source)).ok


def _render_one_pass(source: Path, audio: Path | None, text: str, options: VariantOptions, out_path: Path,
                     cache_root: Path, progress: Progress | None, t0: float) -> RenderResult:
    info = probe(source)
    if not info.has_video:
        raise MediaError(f"no video stream in {source.name}")
    frames = max(1, round(info.duration_s * FPS))
    duration = frames / FPS
    track = Path(audio) if audio is not None and options.audio_mode != "keep" else None
    offset = info.audio_start_s - info.video_start_s if info.has_audio and track is None else None
    work = Path(tempfile.mkdtemp(prefix="variant-", dir=_tmp_root(cache_root)))
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
        run_ffmpeg(fb.one_pass_args(source, png, x, y, window, track, options.fit, frames, duration, offset,
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
                   out_path: Path, cache_root: Path, progress: Progress | None = None,
                   one_pass: bool = False) -> RenderResult:
    """Render one variant of ``source`` into ``out_path`` (MP4, canonical format), atomically.

    ``audio``: the chosen track (None: keep the original, or silence); ``hook_text`` None/blank = no
    hook. ``one_pass``: the planner found this the source's only variant: render it in one pass when
    :func:`one_pass_better` says so. ``progress(percent 0-100, message)`` may raise to cancel: the
    exception propagates and ``out_path`` is not created. Raises TypeError (options not a
    VariantOptions), ValueError, MediaError (unusable media, FFmpeg failure; the message names the
    file or the step).
    """
    t0 = time.perf_counter()
    if not isinstance(options, VariantOptions):
        raise TypeError(f"options: not VariantOptions: {options!r}")
    out_path = Path(out_path)
    if audio is not None:
        check_track(Path(audio))
    if one_pass and one_pass_better(Path(source), options.fit, options.audio_mode, cache_root):
        out_path.parent.mkdir(parents=True, exist_ok=True)
        return _render_one_pass(Path(source), audio, (hook_text or "").strip(), options, out_path, cache_root,
                                progress, t0)
    norm = normalize_video(Path(source), options.fit, cache_root, _stage(progress, 0, 40))
    text = (hook_text or "").strip()
    win = hook_window(options.hook_start_s, options.hook_duration_s, norm) if text else None
    if text and options.hook_duration_s == 0:
        mode: RenderPath = "full"
    else:
        mode = "fast" if win is not None else "copy"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="variant-", dir=_tmp_root(cache_root)))
    fd, name = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".part.mp4", dir=out_path.parent)
    os.close(fd)
    tmp_out = Path(name)
    pending: PendingAudio | None = None
    reencoded = 0.0
    try:
        pending = start_variant_audio(norm, Path(audio) if audio else None, options.audio_mode, cache_root)
        segments = list(norm.segments)
        if mode == "fast":
            try:
                seg, frames = _hook_segment(norm, text, options, win, cache_root, work, _stage(progress, 40, 90))
                segments[win.first_gop:win.end_gop] = [seg]
                reencoded = frames / FPS
            except HeaderMismatch:  # the window cannot be joined: one full encode instead
                mode = "full"
        if mode == "full":
            _render_full(norm, text, options, pending.finish(), work, tmp_out, _stage(progress, 40, 100))
            reencoded = norm.duration_s
        else:
            audio_path = pending.finish()
            if progress:
                progress(92.0, "joining")
            in_band = norm.copied and mode == "fast" and parameter_sets(segments[win.first_gop]) != \
                parameter_sets(norm.segments[0])  # a window with its own SPS/PPS: mux as avc3
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
    hook window when there is one. Decodes that one frame, not the finished MP4."""
    from media.thumbnails import save_thumbnail, video_frame

    source = result.thumb_segment if result.thumb_segment and result.thumb_segment.is_file() else result.path
    return save_thumbnail(video_frame(source, 0.0), dest)


def catalog_facts(result: RenderResult, thumb: Path):
    """(facts, thumbnail path) for cataloguing a finished variant (see :func:`variant_facts`)."""
    return variant_facts(result), variant_thumbnail(result, thumb)


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
        os.replace(part, out_path)
    return RenderResult(path=out_path, render_path="full", duration_s=duration,
                        wall_s=time.perf_counter() - t0, reencoded_s=duration)
