"""Pure functions that build FFmpeg argument lists (no I/O; unit-tested argument by argument).

Each builder returns the arguments that follow the executable and the global options added by
:mod:`media.ffmpeg_run` (``-hide_banner -nostdin -y -v error -progress pipe:1``). Hook text never
appears in an argument: it arrives as a PNG path; numbers (positions, seconds) are the only values
written into filter strings. Filter syntax: https://ffmpeg.org/ffmpeg-filters.html (overlay, fps,
scale, crop, pad, boxblur, atrim, apad, afade, amix, asetpts, aformat, anullsrc, drawtext); segment,
mpegts, concat protocol and mov ``faststart``: https://ffmpeg.org/ffmpeg-formats.html.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

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
    """A number for a filter string: fixed notation, no exponent, trailing zeros dropped."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def fit_filter(fit: str, src: str = "0:v", out: str = "v") -> str:
    """Filtergraph that turns input ``[src]`` into a 1080x1920 yuv420p picture ``[out]``.

    blur: the whole picture fits inside 1080x1920 over a blurred, cropped-to-fill copy of itself;
    crop: scaled to fill and centre-cropped; pad: scaled to fit and centred on black.
    """
    w, h = WIDTH, HEIGHT
    if fit == "crop":
        return (f"[{src}]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},"
                f"setsar=1,format=yuv420p[{out}]")
    if fit == "pad":
        return (f"[{src}]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p[{out}]")
    if fit == "blur":
        sw, sh = w // BLUR_SCALE, h // BLUR_SCALE
        return (f"[{src}]split=2[bg][fg];"
                f"[bg]scale={sw}:{sh}:force_original_aspect_ratio=increase,crop={sw}:{sh},"
                f"boxblur={BLUR_RADIUS}:2,scale={w}:{h},setsar=1[bgb];"
                f"[fg]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[fgs];"
                f"[bgb][fgs]overlay=(W-w)/2:(H-h)/2,format=yuv420p[{out}]")
    raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, not {fit!r}")


def concat_url(paths: Sequence[Path]) -> str:
    """FFmpeg ``concat:`` protocol URL: the files' bytes read back to back (MPEG-TS joins this way)."""
    if not paths:
        raise ValueError("nothing to concatenate")
    for p in paths:
        if "|" in str(p):
            raise ValueError(f"path not usable in a concat URL: {p}")
    return "concat:" + "|".join(str(p) for p in paths)


def normalize_video_args(source: Path, segment_pattern: Path, fit: str, frames: int,
                         codec: VideoCodec) -> list[str]:
    """Encode ``source``'s first video stream to canonical per-GOP MPEG-TS segments.

    The stream is re-timed to start at 0 (``setpts``), converted to 30 frames/s (``fps``), fitted,
    limited to ``frames`` frames, and cut by the segment muxer at every keyframe (one GOP = 1 s per
    file, ``segment_pattern`` e.g. ``seg_%05d.ts``); timestamps are kept (``reset_timestamps 0``) and
    offset by :data:`TS_OFFSET_S`, so the files joined back to back form one continuous stream.
    """
    graph = f"[0:v]setpts=PTS-STARTPTS,fps={FPS}[r];" + fit_filter(fit, "r", "v")
    return [
        "-i", str(source), "-filter_complex", graph, "-map", "[v]", "-an", "-sn", "-dn",
        "-map_metadata", "-1", "-frames:v", str(frames), *canonical.video_codec_args(codec),
        "-output_ts_offset", _num(TS_OFFSET_S),
        "-f", "segment", "-segment_format", "mpegts", "-segment_time", _num(GOP_S),
        "-segment_time_delta", _num(0.5 / FPS), "-reset_timestamps", "0", str(segment_pattern),
    ]


def _audio_format(rate: int = canonical.AUDIO_RATE) -> str:
    return f"aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo"


def _align(offset_s: float) -> str:
    """Shift a stream that starts ``offset_s`` after the video (negative: before) onto the video's t=0."""
    if offset_s > 0.0005:
        return f"adelay=delays={round(offset_s * 1000)}:all=1"
    if offset_s < -0.0005:
        return f"atrim=start={_num(-offset_s)},asetpts=PTS-STARTPTS"
    return "anull"


def original_audio_args(source: Path, out: Path, duration_s: float, offset_s: float) -> list[str]:
    """The source's own audio, kept in sync with the normalised video: AAC 48 kHz stereo, exactly
    ``duration_s`` long (cut or padded with silence). ``offset_s`` = audio start - video start."""
    chain = (f"[0:a:0]asetpts=PTS-STARTPTS,{_align(offset_s)},{_audio_format()},"
             f"apad=whole_dur={_num(duration_s)},atrim=end={_num(duration_s)}[a]")
    return ["-i", str(source), "-filter_complex", chain, "-map", "[a]", "-vn", "-sn", "-dn",
            "-map_metadata", "-1", *canonical.audio_codec_args(), "-t", _num(duration_s), "-f", "mp4", str(out)]


def _looped_track(label: str, duration_s: float) -> str:
    """A looped input (``-stream_loop -1``) re-timed continuously, canonical format, cut to length."""
    return f"[{label}]asetpts=N/SR/TB,{_audio_format()},atrim=end={_num(duration_s)}"


def _fade(duration_s: float) -> str:
    fade = min(FADE_OUT_S, duration_s / 3)
    return f"afade=t=out:st={_num(max(0.0, duration_s - fade))}:d={_num(fade)}"


def replace_audio_args(track: Path, out: Path, duration_s: float) -> list[str]:
    """The chosen track looped or trimmed to ``duration_s``, with a short fade-out; AAC to ``out``."""
    chain = (f"{_looped_track('0:a:0', duration_s)},{_fade(duration_s)},"
             f"apad=whole_dur={_num(duration_s)}[a]")
    return ["-stream_loop", "-1", "-i", str(track), "-filter_complex", chain, "-map", "[a]", "-vn",
            "-map_metadata", "-1", *canonical.audio_codec_args(), "-t", _num(duration_s), "-f", "mp4", str(out)]


def mix_audio_args(original: Path, track: Path, out: Path, duration_s: float) -> list[str]:
    """The chosen track (looped, at :data:`MIX_TRACK_GAIN`) under the original audio, faded out."""
    chain = (f"[0:a:0]{_audio_format()},apad=whole_dur={_num(duration_s)}[o];"
             f"{_looped_track('1:a:0', duration_s)},volume={_num(MIX_TRACK_GAIN)}[m];"
             f"[o][m]amix=inputs=2:duration=first:dropout_transition=0:normalize=0,"
             f"atrim=end={_num(duration_s)},{_fade(duration_s)}[a]")
    return ["-i", str(original), "-stream_loop", "-1", "-i", str(track), "-filter_complex", chain,
            "-map", "[a]", "-vn", "-map_metadata", "-1", *canonical.audio_codec_args(),
            "-t", _num(duration_s), "-f", "mp4", str(out)]


def silent_audio_args(out: Path, duration_s: float) -> list[str]:
    """A silent AAC track of ``duration_s`` (so every output has an audio stream)."""
    return ["-f", "lavfi", "-i", f"anullsrc=r={canonical.AUDIO_RATE}:cl=stereo", "-map", "0:a",
            *canonical.audio_codec_args(), "-t", _num(duration_s), "-f", "mp4", str(out)]


def overlay_filter(x: int, y: int, start_s: float | None = None, end_s: float | None = None) -> str:
    """``[0:v]`` with the PNG ``[1:v]`` on top at (x, y) pixels, on frames with start <= t < end
    (whole stream when no window); output ``[v]`` in yuv420p."""
    enable = ""
    if start_s is not None and end_s is not None:
        enable = f":enable='gte(t,{_num(start_s)})*lt(t,{_num(end_s)})'"
    return f"[0:v][1:v]overlay=x={int(x)}:y={int(y)}{enable},format=yuv420p[v]"


def hook_segment_args(segments: Sequence[Path], hook_png: Path, x: int, y: int, start_s: float,
                      end_s: float, frames: int, ts_offset_s: float, codec: VideoCodec, out: Path) -> list[str]:
    """Re-encode the GOP segments a hook covers with the hook overlaid, as one MPEG-TS file.

    ``start_s``/``end_s`` are relative to the first of ``segments``; ``ts_offset_s`` is that
    segment's own timestamp offset (:data:`TS_OFFSET_S` + its start), so the new packets carry the
    timestamps of the packets they replace. Same codec arguments as the normalisation, so the
    SPS/PPS are identical and the stream can be joined to stream-copied segments.
    """
    return ["-i", concat_url(segments), "-i", str(hook_png),
            "-filter_complex", overlay_filter(x, y, start_s, end_s), "-map", "[v]", "-an",
            "-map_metadata", "-1", "-frames:v", str(frames), *canonical.video_codec_args(codec),
            "-output_ts_offset", _num(ts_offset_s), "-f", "mpegts", str(out)]


def remux_args(segments: Sequence[Path], audio: Path, out: Path) -> list[str]:
    """Join MPEG-TS segments and an AAC track into a faststart MP4 without re-encoding anything."""
    return ["-i", concat_url(segments), "-i", str(audio), "-map", "0:v:0", "-map", "1:a:0",
            "-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(out)]


def full_render_args(segments: Sequence[Path], hook_png: Path, x: int, y: int, audio: Path,
                     frames: int, codec: VideoCodec, out: Path,
                     window: tuple[float, float] | None = None) -> list[str]:
    """One encode of the whole normalised video with the hook (on every frame, or within
    ``window`` = (start, end) seconds), muxed with ``audio``."""
    start, end = window if window is not None else (None, None)
    return ["-i", concat_url(segments), "-i", str(hook_png), "-i", str(audio),
            "-filter_complex", overlay_filter(x, y, start, end), "-map", "[v]", "-map", "2:a:0",
            "-frames:v", str(frames), *canonical.video_codec_args(codec), "-c:a", "copy",
            "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(out)]


def quote_filter_path(path: Path) -> str:
    """A file path as a quoted filter option value (the naive drawtext baseline only: paths, never
    hook text). Inside single quotes ``:``, ``,``, ``;``, ``[`` and ``]`` are literal; a quote is
    closed, escaped and reopened (FFmpeg's filtergraph quoting rules)."""
    return "'" + str(path).replace("\\", "/").replace("'", "'\\''") + "'"


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
    graph = f"[0:v]setpts=PTS-STARTPTS,fps={FPS}[r];" + fit_filter(fit, "r", "f")
    if textfile is not None:
        window = "" if end_s is None else f":enable='gte(t,{_num(start_s)})*lt(t,{_num(end_s)})'"
        graph += (f";[f]drawtext=fontfile={quote_filter_path(fontfile)}:textfile={quote_filter_path(textfile)}"
                  f":expansion=none:fontsize={int(font_size)}:fontcolor=white:borderw={max(2, font_size // 12)}"
                  f":bordercolor=black:x=(w-text_w)/2:y={int(text_y)}{window}[v]")
    else:
        graph += ";[f]null[v]"
    args = ["-i", str(source)]
    if track is not None:
        args += ["-stream_loop", "-1", "-i", str(track)]
        graph += f";{_looped_track('1:a:0', duration_s)},{_fade(duration_s)},apad=whole_dur={_num(duration_s)}[a]"
    elif video_offset_s is not None:
        graph += (f";[0:a:0]asetpts=PTS-STARTPTS,{_align(video_offset_s)},{_audio_format()},"
                  f"apad=whole_dur={_num(duration_s)},atrim=end={_num(duration_s)}[a]")
    else:
        args += ["-f", "lavfi", "-i", f"anullsrc=r={canonical.AUDIO_RATE}:cl=stereo"]
        graph += ";[1:a]anull[a]"
    codec = VideoCodec(crf=crf, preset=preset)
    return [*args, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-frames:v", str(frames),
            *canonical.video_codec_args(codec), *canonical.audio_codec_args(), "-t", _num(duration_s),
            "-movflags", "+faststart", "-f", "mp4", str(out)]
