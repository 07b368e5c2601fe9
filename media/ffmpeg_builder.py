"""Pure functions that build FFmpeg argument lists (no I/O; unit-tested argument by argument).

Each builder describes its command as an ffmpeg-python graph (``ffmpeg.input`` -> ``.filter`` ->
``ffmpeg.output(..., **options)``) and returns ``.get_args()``: the arguments that follow the
executable and the global options added by :mod:`media.ffmpeg_run`
(``-hide_banner -nostdin -y -v error -progress pipe:1``). ffmpeg-python 0.2.0
(site-packages/ffmpeg/_run.py, nodes.py) names filter outputs ``[s0]``, ``[s1]``..., writes one
filter per chain, sorts filter keyword options and output options by name (``-f`` and ``-map``
first), puts input options (``-stream_loop``, ``-f lavfi``) before their ``-i`` and escapes option
values for both filtergraph levels (``\\ ' = :`` then ``\\ ' [ ] , ;``). Its positional filter
arguments are escaped twice, so only plain values (numbers, expressions without those characters)
are passed positionally; everything else is a keyword option. Hook text never appears in an
argument: it arrives as a PNG path; numbers (positions, seconds) are the only values written into
filter options. Filter syntax: https://ffmpeg.org/ffmpeg-filters.html (overlay, fps, scale, crop,
pad, boxblur, atrim, apad, afade, amix, asetpts, aformat, anullsrc, drawtext); segment, mpegts,
concat protocol and mov ``faststart``: https://ffmpeg.org/ffmpeg-formats.html.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ffmpeg

from media import canonical
from media.canonical import FPS, GOP_S, HEIGHT, WIDTH, VideoCodec

FitMode = Literal["blur", "crop", "pad"]
FIT_MODES: tuple[str, ...] = ("blur", "crop", "pad")

# Normalised segments carry timestamps shifted by this much, so B-frame decode times are never
# negative and no muxer shifts them: a re-encoded hook segment then gets identical timestamps.
TS_OFFSET_S = 1.0
FADE_OUT_S = 0.75  # "short fade-out" of a replaced audio track (issue 2)
MIX_TRACK_GAIN = 0.35  # chosen track under the original voice in ``mix`` mode (about -9 dB)
BLUR_SCALE = 4  # blur background is computed at 1/4 size (270x480), then scaled up
BLUR_RADIUS = 12  # boxblur radius at that size (pixels)


def _num(value: float) -> str:
    """A number for a filter or option value: fixed notation, no exponent, trailing zeros dropped."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _options(args: Sequence[str]) -> dict[str, str]:
    """``["-c:v", "libx264", "-crf", "23", ...]`` (option/value pairs, as :mod:`media.canonical`
    returns them) -> ffmpeg-python output keyword options ``{"c:v": "libx264", "crf": "23", ...}``."""
    if len(args) % 2:
        raise ValueError(f"options must come in option/value pairs: {list(args)}")
    options: dict[str, str] = {}
    for name, val in zip(args[::2], args[1::2]):
        if not name.startswith("-") or name[1:] in options:
            raise ValueError(f"not a single option/value pair: {name} {val}")
        options[name[1:]] = val
    return options


def _args(*streams: ffmpeg.Stream, out: Path | str, **options: str | None) -> list[str]:
    """The argv (no executable, no global options) writing ``streams`` to ``out``; an option whose
    value is None is a flag (``an=None`` -> ``-an``)."""
    return ffmpeg.output(*streams, str(out), **options).get_args()


def fit_video(video: ffmpeg.Stream, fit: str) -> ffmpeg.Stream:
    """``video`` turned into a 1080x1920 yuv420p picture.

    blur: the whole picture fits inside 1080x1920 over a blurred, cropped-to-fill copy of itself;
    crop: scaled to fill and centre-cropped; pad: scaled to fit and centred on black.
    Raises ValueError for another ``fit``.
    """
    w, h = WIDTH, HEIGHT
    if fit == "crop":
        video = video.filter("scale", w, h, force_original_aspect_ratio="increase").filter("crop", w, h)
        return video.filter("setsar", 1).filter("format", "yuv420p")
    if fit == "pad":
        video = video.filter("scale", w, h, force_original_aspect_ratio="decrease", force_divisible_by=2)
        video = video.filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color="black")
        return video.filter("setsar", 1).filter("format", "yuv420p")
    if fit == "blur":
        sw, sh = w // BLUR_SCALE, h // BLUR_SCALE
        split = video.filter_multi_output("split")  # ffmpeg-python writes split=<number of outputs>
        bg = (split[0].filter("scale", sw, sh, force_original_aspect_ratio="increase").filter("crop", sw, sh)
              .filter("boxblur", BLUR_RADIUS, 2).filter("scale", w, h).filter("setsar", 1))
        fg = (split[1].filter("scale", w, h, force_original_aspect_ratio="decrease", force_divisible_by=2)
              .filter("setsar", 1))
        return ffmpeg.filter([bg, fg], "overlay", "(W-w)/2", "(H-h)/2").filter("format", "yuv420p")
    raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, not {fit!r}")


def concat_url(paths: Sequence[Path]) -> str:
    """FFmpeg ``concat:`` protocol URL: the files' bytes read back to back (MPEG-TS joins this way)."""
    if not paths:
        raise ValueError("nothing to concatenate")
    for p in paths:
        if "|" in str(p):
            raise ValueError(f"path not usable in a concat URL: {p}")
    return "concat:" + "|".join(str(p) for p in paths)


def _retimed_video(source: Path) -> tuple[ffmpeg.Stream, ffmpeg.Stream]:
    """(the source input, its first video stream re-timed to start at 0 at 30 frames/s)."""
    inp = ffmpeg.input(str(source))
    return inp, inp["v"].filter("setpts", "PTS-STARTPTS").filter("fps", FPS)


def normalize_video_args(source: Path, segment_pattern: Path, fit: str, frames: int,
                         codec: VideoCodec) -> list[str]:
    """Encode ``source``'s first video stream to canonical per-GOP MPEG-TS segments.

    The stream is re-timed to start at 0 (``setpts``), converted to 30 frames/s (``fps``), fitted,
    limited to ``frames`` frames, and cut by the segment muxer at every keyframe (one GOP = 1 s per
    file, ``segment_pattern`` e.g. ``seg_%05d.ts``); timestamps are kept (``reset_timestamps 0``) and
    offset by :data:`TS_OFFSET_S`, so the files joined back to back form one continuous stream.
    Raises ValueError for an unknown ``fit``.
    """
    _, video = _retimed_video(source)
    return _plain_segments(fit_video(video, fit), segment_pattern, 0, frames, codec).get_args()


def copy_segments_args(source: Path, segment_pattern: Path) -> list[str]:
    """Cut ``source``'s first video stream (H.264 in MP4) at every keyframe into MPEG-TS files by
    stream copy (``h264_mp4toannexb`` puts the parameter sets in-band before each keyframe), the
    timestamps continuous across files and offset by :data:`TS_OFFSET_S` like
    :func:`normalize_video_args`. No decoding, no encoding."""
    return _args(ffmpeg.input(str(source))["v:0"], out=segment_pattern, an=None, sn=None, dn=None,
                 map_metadata="-1", **{"c:v": "copy", "bsf:v": "h264_mp4toannexb"},
                 output_ts_offset=_num(TS_OFFSET_S), f="segment", segment_format="mpegts",
                 segment_time=_num(0.001), reset_timestamps="0")


def _audio_format(audio: ffmpeg.Stream, rate: int = canonical.AUDIO_RATE) -> ffmpeg.Stream:
    """Resampled to ``rate`` Hz, float planar stereo (the canonical AAC input)."""
    return audio.filter("aresample", rate).filter("aformat", sample_fmts="fltp", channel_layouts="stereo")


def _align(audio: ffmpeg.Stream, offset_s: float) -> ffmpeg.Stream:
    """Shift a stream that starts ``offset_s`` after the video (negative: before) onto the video's t=0."""
    if offset_s > 0.0005:
        return audio.filter("adelay", delays=round(offset_s * 1000), all=1)
    if offset_s < -0.0005:
        return audio.filter("atrim", start=_num(-offset_s)).filter("asetpts", "PTS-STARTPTS")
    return audio.filter("anull")


def _synced_audio(inp: ffmpeg.Stream, duration_s: float, offset_s: float) -> ffmpeg.Stream:
    """The input's first audio stream aligned to the video, canonical format, exactly ``duration_s``."""
    audio = _align(inp["a:0"].filter("asetpts", "PTS-STARTPTS"), offset_s)
    return _audio_format(audio).filter("apad", whole_dur=_num(duration_s)).filter("atrim", end=_num(duration_s))


def original_audio_args(source: Path, out: Path, duration_s: float, offset_s: float) -> list[str]:
    """The source's own audio, kept in sync with the normalised video: AAC 48 kHz stereo, exactly
    ``duration_s`` long (cut or padded with silence). ``offset_s`` = audio start - video start."""
    audio = _synced_audio(ffmpeg.input(str(source)), duration_s, offset_s)
    return _args(audio, out=out, vn=None, sn=None, dn=None, map_metadata="-1",
                 **_options(canonical.audio_codec_args()), t=_num(duration_s), f="mp4")


def _looped_track(track: Path, duration_s: float) -> ffmpeg.Stream:
    """``track`` looped (``-stream_loop -1``), re-timed continuously, canonical format, cut to length."""
    audio = ffmpeg.input(str(track), stream_loop=-1)["a:0"].filter("asetpts", "N/SR/TB")
    return _audio_format(audio).filter("atrim", end=_num(duration_s))


def _fade(audio: ffmpeg.Stream, duration_s: float) -> ffmpeg.Stream:
    fade = min(FADE_OUT_S, duration_s / 3)
    return audio.filter("afade", t="out", st=_num(max(0.0, duration_s - fade)), d=_num(fade))


def _replaced_audio(track: Path, duration_s: float) -> ffmpeg.Stream:
    """The chosen track looped or trimmed to ``duration_s``, faded out, padded to the full length."""
    return _fade(_looped_track(track, duration_s), duration_s).filter("apad", whole_dur=_num(duration_s))


def replace_audio_args(track: Path, out: Path, duration_s: float) -> list[str]:
    """The chosen track looped or trimmed to ``duration_s``, with a short fade-out; AAC to ``out``."""
    return _args(_replaced_audio(track, duration_s), out=out, vn=None, map_metadata="-1",
                 **_options(canonical.audio_codec_args()), t=_num(duration_s), f="mp4")


def mix_audio_args(original: Path, track: Path, out: Path, duration_s: float) -> list[str]:
    """The chosen track (looped, at :data:`MIX_TRACK_GAIN`) under the original audio, faded out."""
    orig = _audio_format(ffmpeg.input(str(original))["a:0"]).filter("apad", whole_dur=_num(duration_s))
    music = _looped_track(track, duration_s).filter("volume", _num(MIX_TRACK_GAIN))
    mixed = ffmpeg.filter([orig, music], "amix", inputs=2, duration="first", dropout_transition=0, normalize=0)
    mixed = _fade(mixed.filter("atrim", end=_num(duration_s)), duration_s)
    return _args(mixed, out=out, vn=None, map_metadata="-1", **_options(canonical.audio_codec_args()),
                 t=_num(duration_s), f="mp4")


def _silence() -> ffmpeg.Stream:
    """An endless silent 48 kHz stereo input (``-f lavfi -i anullsrc=...``)."""
    return ffmpeg.input(f"anullsrc=r={canonical.AUDIO_RATE}:cl=stereo", f="lavfi")


def silent_audio_args(out: Path, duration_s: float) -> list[str]:
    """A silent AAC track of ``duration_s`` (so every output has an audio stream)."""
    return _args(_silence()["a"], out=out, **_options(canonical.audio_codec_args()), t=_num(duration_s), f="mp4")


def _window(start_s: float | None, end_s: float | None) -> dict[str, str]:
    """Timeline option for frames with start <= t < end (none when there is no window)."""
    if start_s is None or end_s is None:
        return {}
    return {"enable": f"gte(t,{_num(start_s)})*lt(t,{_num(end_s)})"}


def overlay_hook(video: ffmpeg.Stream, png: ffmpeg.Stream, x: int, y: int, start_s: float | None = None,
                 end_s: float | None = None) -> ffmpeg.Stream:
    """``video`` with the PNG ``png`` on top at (x, y) pixels, on frames with start <= t < end
    (whole stream when no window); yuv420p."""
    overlaid = ffmpeg.filter([video, png], "overlay", x=int(x), y=int(y), **_window(start_s, end_s))
    return overlaid.filter("format", "yuv420p")


@dataclass(frozen=True)
class WindowOverlay:
    """One hook on a re-encoded window: the PNG at (``x``, ``y``) pixels on frames with
    ``start_s`` <= t < ``end_s`` (seconds from the window's first frame), written to ``out`` (MPEG-TS)
    and, when ``thumb`` is set, the window's first frame to ``thumb`` (JPEG)."""

    png: Path
    x: int
    y: int
    start_s: float
    end_s: float
    out: Path
    thumb: Path | None = None


def hook_segments_args(segments: Sequence[Path], overlays: Sequence[WindowOverlay], frames: int,
                       ts_offset_s: float, codec: VideoCodec, dts_shift_s: float = 0.0,
                       tail: tuple[int, Path] | None = None) -> list[str]:
    """Re-encode the GOP segments a hook covers once per overlay, in one FFmpeg run: the segments are
    decoded once and ``split`` into one overlay + encoder per hook (issue 15: the sibling variants of
    a source share that decode), each written as one MPEG-TS file of ``frames`` frames.

    Times are relative to the first of ``segments``; ``ts_offset_s`` is that segment's own timestamp
    offset (:data:`TS_OFFSET_S` + its start), so the new packets carry the timestamps of the packets
    they replace. ``codec``: the normalisation's own (identical SPS/PPS, the window joins the copy) or
    an in-band one. ``dts_shift_s`` (a window encoded without B-frames next to GOPs with them): decode
    timestamps are moved that many seconds earlier (FFmpeg's ``setts`` bitstream filter), so they
    continue those of the GOP before and end before the next one's. A ``thumb``: the window's first
    frame (only that one is scaled) as a JPEG within :data:`media.thumbnails.THUMB_SIZE` pixels, the
    variant's thumbnail without decoding anything again. ``tail``: ``(first frame, path)``: the frames
    from that one on (after every hook's end, at one of ``codec``'s IDRs) are encoded once, without a
    hook, to ``path``, and each overlay's ``out`` holds only the frames before it (the window is then
    the two files back to back). Raises ValueError for no overlays or a tail outside the window.
    """
    if not overlays:
        raise ValueError("no hook to overlay")
    if tail is not None and not 0 < tail[0] < frames:
        raise ValueError(f"tail from frame {tail[0]} outside a window of {frames} frames")
    branches = len(overlays) + (tail is not None)
    # several encoders run side by side: one thread each (and one for the decoder) spares the thread
    # handoffs, about half the system time of the run, and keeps both cores busy
    one = {"threads": "1"} if branches > 1 else {}
    decoded = ffmpeg.input(concat_url(segments), **one)["v"]
    split = decoded.filter_multi_output("split", branches) if branches > 1 else None
    sources = [split[i] for i in range(branches)] if split is not None else [decoded]
    outputs = _window_outputs(sources, overlays, frames, ts_offset_s, codec, dts_shift_s, tail, one)
    return (outputs[0] if len(outputs) == 1 else ffmpeg.merge_outputs(*outputs)).get_args()


def _window_outputs(sources: list[ffmpeg.Stream], overlays: Sequence[WindowOverlay], frames: int,
                    ts_offset_s: float, codec: VideoCodec, dts_shift_s: float,
                    tail: tuple[int, Path] | None, one: dict[str, str]) -> list:
    """The outputs of :func:`hook_segments_args` (and :func:`normalize_with_windows_args`): one
    overlay + encoder per hook on ``sources`` (the window's frames, t = 0 at its first frame; the last
    one is the tail's when ``tail`` is set), each hook's thumbnail, the shared tail."""
    from media.thumbnails import THUMB_SIZE

    shift = {"bsf:v": f"setts=dts=DTS-round({_num(dts_shift_s)}/TB)"} if dts_shift_s > 0 else {}

    def encoded(video: ffmpeg.Stream, out: Path, count: int, offset_s: float):
        return ffmpeg.output(video, str(out), an=None, map_metadata="-1", **{"frames:v": str(count)},
                             **_options(canonical.video_codec_args(codec)), **shift, **one,
                             output_ts_offset=_num(offset_s), f="mpegts")

    outputs = []
    head = frames
    if tail is not None:
        head, tail_out = tail
        rest = sources.pop().filter("trim", start_frame=head).filter("setpts", "PTS-STARTPTS")
        outputs.append(encoded(rest, tail_out, frames - head, ts_offset_s + head / FPS))
    for video, hook in zip(sources, overlays):
        video = overlay_hook(video, ffmpeg.input(str(hook.png))["v"], hook.x, hook.y, hook.start_s, hook.end_s)
        still = None
        if hook.thumb is not None:
            split = video.filter_multi_output("split")
            video, still = split[0], split[1]
        outputs.append(encoded(video, hook.out, head, ts_offset_s))
        if still is not None:  # only the first frame is scaled down
            small = still.filter("trim", end_frame=1).filter("scale", *THUMB_SIZE,
                                                             force_original_aspect_ratio="decrease")
            outputs.append(ffmpeg.output(small, str(hook.thumb), **{"frames:v": "1", "q:v": "3"},
                                         map_metadata="-1", f="image2"))
    return outputs


def normalize_with_windows_args(source: Path, segment_pattern: Path, fit: str, frames: int, codec: VideoCodec,
                                first_gop: int, end_gop: int, overlays: Sequence[WindowOverlay],
                                window_codec: VideoCodec, dts_shift_s: float = 0.0) -> list[str]:
    """:func:`normalize_video_args` with hook windows encoded in the same run (issue 15): the source is
    decoded and fitted once, the GOPs [``first_gop``, ``end_gop``) (1 s each) are not encoded plain
    (a batch whose variants all show a hook there never uses them; they are made later when needed,
    :func:`normalize_range_args`) and each overlay's ``out`` gets them with its hook, encoded with
    ``window_codec`` as :func:`hook_segments_args` would from the plain GOPs (same timestamps, same
    ``dts_shift_s``, a thumbnail). Plain segments keep their names (``segment_start_number``) and
    timestamps. Needs at least one GOP after the window. Raises ValueError for no overlays, an empty
    window or none after it, an unknown ``fit``."""
    gop = canonical.GOP_FRAMES
    start, end = first_gop * gop, end_gop * gop
    if not overlays:
        raise ValueError("no hook to overlay")
    if not 0 <= start < end < frames:
        raise ValueError(f"window of GOPs {first_gop}-{end_gop} not inside {frames} frames with one after it")
    _, video = _retimed_video(source)
    branches = (start > 0) + 1 + len(overlays)
    split = fit_video(video, fit).filter_multi_output("split", branches)
    outputs = []
    if start > 0:
        outputs.append(_plain_segments(split[0].filter("trim", end_frame=start), segment_pattern, 0, start, codec))
    after = split[int(start > 0)].filter("trim", start_frame=end).filter("setpts", "PTS-STARTPTS")
    outputs.append(_plain_segments(after, segment_pattern, end, frames - end, codec))
    sources = [split[i].filter("trim", start_frame=start, end_frame=end).filter("setpts", "PTS-STARTPTS")
               for i in range(branches - len(overlays), branches)]
    outputs += _window_outputs(sources, overlays, end - start, TS_OFFSET_S + start / FPS, window_codec,
                               dts_shift_s, None, {"threads": "1"})
    return ffmpeg.merge_outputs(*outputs).get_args()


def normalize_range_args(source: Path, segment_pattern: Path, fit: str, first_gop: int, end_gop: int,
                         codec: VideoCodec) -> list[str]:
    """The plain GOPs [``first_gop``, ``end_gop``) of :func:`normalize_video_args`'s copy (1 s each;
    those a run of :func:`normalize_with_windows_args` left out), decoded from the source's start
    up to the window's end, fitted, encoded with the copy's ``codec`` (same parameter sets) into
    ``segment_pattern`` under their own numbers and timestamps."""
    gop = canonical.GOP_FRAMES
    start, end = first_gop * gop, end_gop * gop
    if not 0 <= start < end:
        raise ValueError(f"no GOPs in {first_gop}-{end_gop}")
    _, video = _retimed_video(source)
    video = video.filter("trim", end_frame=end)  # fitted only where kept
    if start > 0:
        video = video.filter("trim", start_frame=start).filter("setpts", "PTS-STARTPTS")
    return _plain_segments(fit_video(video, fit), segment_pattern, start, end - start, codec).get_args()


def _plain_segments(video: ffmpeg.Stream, segment_pattern: Path, first_frame: int, frames: int, codec: VideoCodec):
    """Output of ``frames`` fitted frames (t = 0 at frame ``first_frame`` of the copy) as per-GOP MPEG-TS
    segments numbered and timed as :func:`normalize_video_args` numbers and times them."""
    numbered = {"segment_start_number": str(first_frame // canonical.GOP_FRAMES)} if first_frame else {}
    return ffmpeg.output(video, str(segment_pattern), an=None, sn=None, dn=None, map_metadata="-1",
                         **{"frames:v": str(frames)}, **_options(canonical.video_codec_args(codec)),
                         output_ts_offset=_num(TS_OFFSET_S + first_frame / FPS), f="segment",
                         segment_format="mpegts", segment_time=_num(GOP_S), segment_time_delta=_num(0.5 / FPS),
                         reset_timestamps="0", **numbered)


def remux_args(segments: Sequence[Path], audio: Path, out: Path, in_band: bool = False) -> list[str]:
    """Join MPEG-TS segments and an AAC track into a faststart MP4 without re-encoding anything.

    ``in_band``: some segments carry parameter sets other than the first one's (a hook window in a
    stream-copied source): the video is tagged ``avc3`` (ISO/IEC 14496-15: parameter sets in-band)."""
    video = ffmpeg.input(concat_url(segments))["v:0"]
    tag = {"tag:v": "avc3"} if in_band else {}
    return _args(video, ffmpeg.input(str(audio))["a:0"], out=out, c="copy", map_metadata="-1",
                 movflags="+faststart", f="mp4", **tag)


def full_render_args(segments: Sequence[Path], hook_png: Path, x: int, y: int, audio: Path,
                     frames: int, codec: VideoCodec, out: Path,
                     window: tuple[float, float] | None = None) -> list[str]:
    """One encode of the whole normalised video with the hook (on every frame, or within
    ``window`` = (start, end) seconds), muxed with ``audio``."""
    start, end = window if window is not None else (None, None)
    video = overlay_hook(ffmpeg.input(concat_url(segments))["v"], ffmpeg.input(str(hook_png))["v"],
                         x, y, start, end)
    return _args(video, ffmpeg.input(str(audio))["a:0"], out=out, **{"frames:v": str(frames)},
                 **_options(canonical.video_codec_args(codec)), **{"c:a": "copy"}, map_metadata="-1",
                 movflags="+faststart", f="mp4")


def _drawtext(video: ffmpeg.Stream, textfile: Path, fontfile: Path, font_size: int, text_y: int,
              start_s: float, end_s: float | None) -> ffmpeg.Stream:
    """The hook drawn from ``textfile`` (no expansion), white with a black border, centred at
    ``text_y`` pixels, from ``start_s`` (to ``end_s``, or the end). ffmpeg-python escapes the paths."""
    window = {} if end_s is None else _window(start_s, end_s)
    return video.filter("drawtext", fontfile=str(fontfile).replace("\\", "/"),
                        textfile=str(textfile).replace("\\", "/"), expansion="none", fontsize=int(font_size),
                        fontcolor="white", borderw=max(2, font_size // 12), bordercolor="black",
                        x="(w-text_w)/2", y=int(text_y), **window)


def naive_render_args(source: Path, track: Path | None, textfile: Path | None, fontfile: Path,
                      font_size: int, text_y: int, start_s: float, end_s: float | None, fit: str,
                      frames: int, duration_s: float, video_offset_s: float | None, crf: int, preset: str,
                      out: Path) -> list[str]:
    """The baseline of the original design: one full re-encode of the source per variant, the hook
    drawn by ``drawtext`` (``textfile=``), audio replaced by ``track`` (looped, faded) or kept.

    ``video_offset_s`` = the source's audio start - video start, or None when the source has no
    audio (silence is used when there is no track either). ``preset`` is x264's default (``medium``)
    in :func:`media.variant_render.render_naive`.
    """
    inp, video = _retimed_video(source)
    video = fit_video(video, fit)
    if textfile is not None:
        video = _drawtext(video, textfile, fontfile, font_size, text_y, start_s, end_s)
    else:
        video = video.filter("null")
    if track is not None:
        audio = _replaced_audio(track, duration_s)
    elif video_offset_s is not None:
        audio = _synced_audio(inp, duration_s, video_offset_s)
    else:
        audio = _silence()["a"].filter("anull")
    codec = VideoCodec(crf=crf, preset=preset)
    return _args(video, audio, out=out, **{"frames:v": str(frames)}, **_options(canonical.video_codec_args(codec)),
                 **_options(canonical.audio_codec_args()), t=_num(duration_s), movflags="+faststart", f="mp4")


def one_pass_args(source: Path, hook_png: Path | None, x: int, y: int, window: tuple[float, float] | None,
                  audio: Path, fit: str, frames: int, codec: VideoCodec, out: Path) -> list[str]:
    """One variant straight from its source in one FFmpeg pass (issue 15): decode, re-time to
    30 frames/s, fit, overlay the hook PNG (on frames in ``window`` = (start, end) seconds, or all),
    encode ``frames`` frames in the canonical format, muxed with the finished AAC track ``audio``
    (copied). Cheaper than normalising first when the source has only this one variant."""
    _, video = _retimed_video(source)
    video = fit_video(video, fit)
    if hook_png is not None:
        start, end = window if window is not None else (None, None)
        video = overlay_hook(video, ffmpeg.input(str(hook_png))["v"], x, y, start, end)
    return _args(video, ffmpeg.input(str(audio))["a:0"], out=out, **{"frames:v": str(frames)},
                 **_options(canonical.video_codec_args(codec)), **{"c:a": "copy"}, map_metadata="-1",
                 movflags="+faststart", f="mp4")


# ---- Audio mix: voice, ducked bed, loudness (issue 11; filters: adelay, volume, sidechaincompress, amix,
# loudnorm, aresample; https://ffmpeg.org/ffmpeg-filters.html) -----------------------------------------

DUCK_ATTACK_MS = 20  # smooth but quick enough not to let the first syllable through at full music level
DUCK_RELEASE_MS = 400
DUCK_RATIO = 20


def mix_args(speech: Path | None, speech_offset_s: float, speech_gain: float, bed: Path | None, bed_loop: bool,
             bed_gain: float, duck: tuple[float, float] | None, duration_s: float, out: Path,
             fade: bool = True) -> list[str]:
    """Speech over a bed, exactly ``duration_s`` long, 48 kHz stereo float WAV to ``out``.

    ``speech``: a voice (placed ``speech_offset_s`` seconds after t=0, scaled by ``speech_gain``);
    ``bed``: music looped (``bed_loop``) or an already synced track, scaled by ``bed_gain``; ``duck`` =
    (threshold 0..1, mix 0..1) of ``sidechaincompress`` keyed by the speech (None = no ducking). At least
    one of speech and bed must be given. Raises ValueError otherwise.
    """
    if speech is None and bed is None:
        raise ValueError("a mix needs a voice or a bed")
    dur = _num(duration_s)
    voice = None
    if speech is not None:
        voice = _audio_format(ffmpeg.input(str(speech))["a:0"].filter("asetpts", "PTS-STARTPTS"))
        voice = _align(voice, speech_offset_s).filter("volume", _num(speech_gain))
        voice = voice.filter("apad", whole_dur=dur).filter("atrim", end=dur)
    music = None
    if bed is not None:
        if bed_loop:
            music = _looped_track(bed, duration_s)
        else:
            music = _audio_format(ffmpeg.input(str(bed))["a:0"]).filter("atrim", end=dur)
        music = music.filter("volume", _num(bed_gain)).filter("apad", whole_dur=dur)
    if voice is not None and music is not None:
        if duck is not None:
            split = voice.filter_multi_output("asplit")
            voice, key = split[0], split[1]
            threshold, wet = duck
            music = ffmpeg.filter([music, key], "sidechaincompress", threshold=_num(threshold),
                                  ratio=DUCK_RATIO, attack=DUCK_ATTACK_MS, release=DUCK_RELEASE_MS,
                                  mix=_num(wet))
        mixed = ffmpeg.filter([voice, music], "amix", inputs=2, duration="first", dropout_transition=0,
                              normalize=0)
    else:
        mixed = voice if voice is not None else music
    mixed = mixed.filter("atrim", end=dur)
    if fade and bed is not None and bed_loop:
        mixed = _fade(mixed, duration_s)
    return _args(mixed, out=out, vn=None, map_metadata="-1", **{"c:a": "pcm_f32le"}, t=dur, f="wav")


def ebur128_args(source: Path) -> list[str]:
    """EBU R128 measurement of ``source``'s first audio stream with FFmpeg's ``ebur128`` filter
    (integrated loudness and true peak, 4x oversampled; the summary is printed on stderr at log level
    info). A tenth of the CPU of ``loudnorm``'s pass 1, which resamples to 192 kHz."""
    audio = ffmpeg.input(str(source))["a:0"].filter("ebur128", peak="true", framelog="quiet")
    return _args(audio, out="-", f="null")


def gain_encode_args(source: Path, out: Path, gain_db: float, duration_s: float,
                     limit_db: float | None = None) -> list[str]:
    """``source`` scaled by ``gain_db`` dB (one linear gain: what ``loudnorm`` with ``linear=true``
    does), as the canonical AAC track, ``duration_s`` long. ``limit_db``: sample peaks above that many
    dBFS are held down by FFmpeg's ``alimiter`` (lookahead limiter, attack 5 ms, release 50 ms, no
    make-up gain, its lookahead delay compensated so the track stays in sync)."""
    audio = ffmpeg.input(str(source))["a:0"].filter("volume", f"{gain_db:.3f}dB")
    if limit_db is not None:
        audio = audio.filter("alimiter", limit=f"{10 ** (limit_db / 20):.4f}", attack=5, release=50, level="false",
                             latency="true")
    audio = _audio_format(audio)
    audio = audio.filter("atrim", end=_num(duration_s))
    return _args(audio, out=out, vn=None, map_metadata="-1", **_options(canonical.audio_codec_args()),
                 t=_num(duration_s), f="mp4")


def loudnorm_encode_args(source: Path, out: Path, target_lufs: float, true_peak_db: float,
                         measured: dict[str, str], duration_s: float) -> list[str]:
    """Pass 2 of ``loudnorm`` (``linear=true`` with pass 1's ``measured`` values), back to 48 kHz, AAC."""
    audio = ffmpeg.input(str(source))["a:0"].filter(
        "loudnorm", I=_num(target_lufs), TP=_num(true_peak_db), LRA=11, linear="true",
        measured_I=measured["input_i"], measured_TP=measured["input_tp"], measured_LRA=measured["input_lra"],
        measured_thresh=measured["input_thresh"], offset=measured["target_offset"])
    audio = _audio_format(audio).filter("atrim", end=_num(duration_s))
    return _args(audio, out=out, vn=None, map_metadata="-1", **_options(canonical.audio_codec_args()),
                 t=_num(duration_s), f="mp4")


def encode_audio_args(source: Path, out: Path, duration_s: float) -> list[str]:
    """A WAV mix encoded as the canonical AAC track, ``duration_s`` long."""
    return _args(_audio_format(ffmpeg.input(str(source))["a:0"]), out=out, vn=None, map_metadata="-1",
                 **_options(canonical.audio_codec_args()), t=_num(duration_s), f="mp4")


# ---- Captions (issue 11): one encode of the normalised copy with the hook and a caption overlay --------

def captioned_render_args(segments: Sequence[Path], hook_png: Path | None, hook_xy: tuple[int, int],
                          hook_window: tuple[float, float] | None, captions: Path, caption_xy: tuple[int, int],
                          audio: Path, frames: int, codec: VideoCodec, out: Path) -> list[str]:
    """One encode of the whole normalised video with the caption band and the hook overlaid, muxed with
    ``audio``. ``captions``: an ffconcat list of same-size RGBA PNGs with durations (the concat demuxer
    shows each from the sum of the durations before it); ``hook_window`` (start, end) seconds or None."""
    video = ffmpeg.input(concat_url(segments))["v"]
    band = ffmpeg.input(str(captions), f="concat", safe=0)["v"]
    video = ffmpeg.filter([video, band], "overlay", x=int(caption_xy[0]), y=int(caption_xy[1]),
                          eof_action="pass")
    if hook_png is not None:
        start, end = hook_window if hook_window is not None else (None, None)
        video = overlay_hook(video, ffmpeg.input(str(hook_png))["v"], hook_xy[0], hook_xy[1], start, end)
    else:
        video = video.filter("format", "yuv420p")
    return _args(video, ffmpeg.input(str(audio))["a:0"], out=out, **{"frames:v": str(frames)},
                 **_options(canonical.video_codec_args(codec)), **{"c:a": "copy"}, map_metadata="-1",
                 movflags="+faststart", f="mp4")


# ---- Stills (issue 11): Ken Burns move with zoompan ------------------------------------------------------

def kenburns_args(image: Path, out: Path, duration_s: float, motion: str, zoom: float, codec: VideoCodec) -> list[str]:
    """A ``duration_s`` 1080x1920 30 fps H.264 clip (no audio) of ``image`` slowly zooming or panning.

    The still is first scaled to cover 2x the frame (so zoompan's integer crop steps stay sub-pixel
    smooth), then ``zoompan`` moves from zoom 1 to ``zoom`` (zoom_in; zoom_out the reverse) or pans
    across at ``zoom`` (pan_left / pan_right). Raises ValueError for another ``motion``.
    """
    frames = max(1, round(duration_s * FPS))
    n = max(1, frames - 1)
    z = _num(zoom)
    if motion == "zoom_in":
        zexpr, xexpr, yexpr = f"1+({z}-1)*on/{n}", "iw/2-(iw/zoom/2)", "ih/2-(ih/zoom/2)"
    elif motion == "zoom_out":
        zexpr, xexpr, yexpr = f"{z}-({z}-1)*on/{n}", "iw/2-(iw/zoom/2)", "ih/2-(ih/zoom/2)"
    elif motion == "pan_left":
        zexpr, xexpr, yexpr = z, f"(iw-iw/zoom)*(1-on/{n})", "ih/2-(ih/zoom/2)"
    elif motion == "pan_right":
        zexpr, xexpr, yexpr = z, f"(iw-iw/zoom)*on/{n}", "ih/2-(ih/zoom/2)"
    else:
        raise ValueError(f"still_motion must be zoom_in, zoom_out, pan_left or pan_right, not {motion!r}")
    video = ffmpeg.input(str(image), loop=1, framerate=FPS)["v"]
    video = (video.filter("scale", 2 * WIDTH, 2 * HEIGHT, force_original_aspect_ratio="increase")
             .filter("crop", 2 * WIDTH, 2 * HEIGHT))
    video = video.filter("zoompan", z=zexpr, x=xexpr, y=yexpr, d=1, s=f"{WIDTH}x{HEIGHT}", fps=FPS)
    video = video.filter("setsar", 1).filter("format", "yuv420p")
    return _args(video, out=out, **{"frames:v": str(frames)}, **_options(canonical.video_codec_args(codec)),
                 an=None, map_metadata="-1", movflags="+faststart", f="mp4")


def frame_args(source: Path, fit: str, at_s: float, out: Path) -> list[str]:
    """One frame of ``source`` at ``at_s`` seconds, fitted to 1080x1920, as a PNG (the Variants preview)."""
    inp = ffmpeg.input(str(source), ss=_num(max(0.0, at_s)))
    return _args(fit_video(inp["v"], fit), out=out, **{"frames:v": "1"}, f="image2")
