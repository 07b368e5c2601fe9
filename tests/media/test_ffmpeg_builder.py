"""The FFmpeg argument builders, argument by argument (pure functions: no FFmpeg run here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media import canonical
from media import ffmpeg_builder as fb
from media.canonical import VideoCodec

CODEC = VideoCodec(crf=23, preset="veryfast")


def value(args: list[str], option: str, nth: int = 0) -> str:
    """The argument following the ``nth`` occurrence of ``option``."""
    hits = [i for i, a in enumerate(args) if a == option]
    assert len(hits) > nth, f"{option} not in {args}"
    return args[hits[nth] + 1]


def test_canonical_video_codec_args_are_the_canonical_format():
    args = canonical.video_codec_args(CODEC)
    assert value(args, "-c:v") == "libx264"
    assert value(args, "-preset") == "veryfast"
    assert value(args, "-crf") == "23"
    assert value(args, "-profile:v") == "high"
    assert value(args, "-pix_fmt") == "yuv420p"
    assert value(args, "-r") == "30"
    params = dict(p.split("=") for p in value(args, "-x264-params").split(":"))
    assert params == {"keyint": "30", "min-keyint": "30", "scenecut": "0", "open-gop": "0", "stitchable": "1",
                      "8x8dct": "1"}
    for opt in ("-colorspace", "-color_primaries", "-color_trc"):
        assert value(args, opt) == "bt709"
    assert value(args, "-color_range") == "tv"


def test_canonical_audio_args():
    args = canonical.audio_codec_args()
    assert (value(args, "-c:a"), value(args, "-ar"), value(args, "-ac")) == ("aac", "48000", "2")
    assert value(args, "-b:a") == "128k"


def test_codec_key_changes_with_crf_and_preset():
    keys = {VideoCodec(20, "veryfast").key, VideoCodec(21, "veryfast").key, VideoCodec(20, "ultrafast").key}
    assert len(keys) == 3


@pytest.mark.parametrize("fit,must,must_not", [
    ("crop", ["force_original_aspect_ratio=increase", "crop=1080:1920"], ["pad=", "boxblur"]),
    ("pad", ["force_original_aspect_ratio=decrease", "pad=1080:1920:(ow-iw)/2:(oh-ih)/2:color=black"],
     ["crop=", "boxblur"]),
    ("blur", ["split=2[bg][fg]", "crop=270:480", "boxblur=12:2", "scale=1080:1920,",
              "force_original_aspect_ratio=decrease", "overlay=(W-w)/2:(H-h)/2"], ["pad="]),
])
def test_fit_filter(fit, must, must_not):
    graph = fb.fit_filter(fit, "in", "out")
    assert graph.startswith("[in]") and graph.endswith("format=yuv420p[out]")
    for part in must:
        assert part in graph
    for part in must_not:
        assert part not in graph


def test_fit_filter_rejects_unknown_mode():
    with pytest.raises(ValueError, match="stretch"):
        fb.fit_filter("stretch")


def test_normalize_video_args():
    args = fb.normalize_video_args(Path("/in/src.mp4"), Path("/c/seg_%05d.ts"), "pad", 151, CODEC)
    assert value(args, "-i") == "/in/src.mp4"
    graph = value(args, "-filter_complex")
    assert graph.startswith("[0:v]setpts=PTS-STARTPTS,fps=30[r];[r]scale=1080:1920")
    assert value(args, "-map") == "[v]"
    assert {"-an", "-sn", "-dn"} <= set(args)
    assert value(args, "-frames:v") == "151"
    assert value(args, "-x264-params") == canonical.x264_params()
    assert value(args, "-output_ts_offset") == "1"
    assert value(args, "-f") == "segment"
    assert value(args, "-segment_format") == "mpegts"
    assert value(args, "-segment_time") == "1"
    assert value(args, "-segment_time_delta") == "0.016667"
    assert value(args, "-reset_timestamps") == "0"
    assert args[-1] == "/c/seg_%05d.ts"


def test_original_audio_args_align_and_fix_length():
    late = fb.original_audio_args(Path("s.mp4"), Path("a.m4a"), 9.1667, -0.842)
    graph = value(late, "-filter_complex")
    assert graph.startswith("[0:a:0]asetpts=PTS-STARTPTS,atrim=start=0.842,asetpts=PTS-STARTPTS,")
    assert "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo" in graph
    assert graph.endswith("apad=whole_dur=9.1667,atrim=end=9.1667[a]")
    assert value(late, "-t") == "9.1667" and value(late, "-c:a") == "aac" and late[-1] == "a.m4a"
    early = value(fb.original_audio_args(Path("s"), Path("a"), 5, 0.25), "-filter_complex")
    assert "adelay=delays=250:all=1" in early
    same = value(fb.original_audio_args(Path("s"), Path("a"), 5, 0.0), "-filter_complex")
    assert ",anull," in same


def test_replace_audio_args_loop_trim_fade():
    args = fb.replace_audio_args(Path("/a/song.wav"), Path("/o.m4a"), 10.0)
    assert args[:4] == ["-stream_loop", "-1", "-i", "/a/song.wav"]
    graph = value(args, "-filter_complex")
    assert graph.startswith("[0:a:0]asetpts=N/SR/TB,aresample=48000,")
    assert "atrim=end=10" in graph
    assert "afade=t=out:st=9.25:d=0.75" in graph
    assert graph.endswith("apad=whole_dur=10[a]")
    assert value(args, "-t") == "10" and value(args, "-f") == "mp4" and args[-1] == "/o.m4a"


def test_fade_is_shorter_on_very_short_videos():
    graph = value(fb.replace_audio_args(Path("a"), Path("o"), 1.2), "-filter_complex")
    assert "afade=t=out:st=0.8:d=0.4" in graph


def test_mix_audio_args():
    args = fb.mix_audio_args(Path("/n/audio.m4a"), Path("/a/song.mp3"), Path("/o.m4a"), 5.0)
    assert value(args, "-i", 0) == "/n/audio.m4a"
    assert args[args.index("/a/song.mp3") - 3: args.index("/a/song.mp3")] == ["-stream_loop", "-1", "-i"]
    graph = value(args, "-filter_complex")
    assert "[1:a:0]asetpts=N/SR/TB" in graph and "volume=0.35[m]" in graph
    assert "[o][m]amix=inputs=2:duration=first:dropout_transition=0:normalize=0" in graph
    assert graph.endswith("afade=t=out:st=4.25:d=0.75[a]")


def test_silent_audio_args():
    args = fb.silent_audio_args(Path("/o.m4a"), 4.5)
    assert value(args, "-f") == "lavfi" and value(args, "-i") == "anullsrc=r=48000:cl=stereo"
    assert value(args, "-t") == "4.5" and value(args, "-c:a") == "aac"


def test_overlay_filter_window_is_half_open_and_numeric():
    assert fb.overlay_filter(120, 270, 0.5, 2.0) == \
        "[0:v][1:v]overlay=x=120:y=270:enable='gte(t,0.5)*lt(t,2)',format=yuv420p[v]"
    assert fb.overlay_filter(10, 20) == "[0:v][1:v]overlay=x=10:y=20,format=yuv420p[v]"


def test_hook_segment_args():
    segs = [Path("/n/seg_00002.ts"), Path("/n/seg_00003.ts")]
    args = fb.hook_segment_args(segs, Path("/w/hook.png"), 133, 270, 0.5, 2.0, 60, 3.0, CODEC, Path("/h/x.ts"))
    assert value(args, "-i", 0) == "concat:/n/seg_00002.ts|/n/seg_00003.ts"
    assert value(args, "-i", 1) == "/w/hook.png"
    assert value(args, "-filter_complex") == fb.overlay_filter(133, 270, 0.5, 2.0)
    assert value(args, "-frames:v") == "60"
    assert value(args, "-output_ts_offset") == "3"
    assert value(args, "-f") == "mpegts" and args[-1] == "/h/x.ts"
    # identical codec arguments to the normalisation: SPS/PPS must match
    codec_part = canonical.video_codec_args(CODEC)
    start = args.index("-c:v")
    assert args[start:start + len(codec_part)] == codec_part


def test_remux_args_copy_everything_faststart():
    args = fb.remux_args([Path("/a.ts"), Path("/b.ts")], Path("/au.m4a"), Path("/o.mp4"))
    assert value(args, "-i", 0) == "concat:/a.ts|/b.ts" and value(args, "-i", 1) == "/au.m4a"
    assert value(args, "-map", 0) == "0:v:0" and value(args, "-map", 1) == "1:a:0"
    assert value(args, "-c") == "copy"
    assert value(args, "-movflags") == "+faststart"
    assert value(args, "-f") == "mp4" and args[-1] == "/o.mp4"
    assert "-c:v" not in args


def test_full_render_args():
    args = fb.full_render_args([Path("/a.ts")], Path("/h.png"), 5, 6, Path("/au.m4a"), 90, CODEC, Path("/o.mp4"))
    assert value(args, "-i", 2) == "/au.m4a"
    assert value(args, "-filter_complex") == "[0:v][1:v]overlay=x=5:y=6,format=yuv420p[v]"
    assert value(args, "-map", 1) == "2:a:0" and value(args, "-c:a") == "copy"
    assert value(args, "-frames:v") == "90" and value(args, "-movflags") == "+faststart"
    windowed = fb.full_render_args([Path("/a.ts")], Path("/h.png"), 5, 6, Path("/au.m4a"), 90, CODEC,
                                   Path("/o.mp4"), (1.5, 4.5))
    assert value(windowed, "-filter_complex") == fb.overlay_filter(5, 6, 1.5, 4.5)


def test_concat_url_refuses_pipe_and_empty():
    with pytest.raises(ValueError):
        fb.concat_url([])
    with pytest.raises(ValueError):
        fb.concat_url([Path("/a|b.ts")])


def test_naive_render_args_use_drawtext_with_textfile():
    args = fb.naive_render_args(Path("/s.mp4"), Path("/t.wav"), Path("/w/hook.txt"), Path("/f/Noto.ttf"), 64,
                                270, 0.0, 3.0, "blur", 900, 30.0, 0.0, 20, "medium", Path("/o.mp4"))
    graph = value(args, "-filter_complex")
    assert "drawtext=fontfile='/f/Noto.ttf':textfile='/w/hook.txt':expansion=none:fontsize=64" in graph
    assert "enable='gte(t,0)*lt(t,3)'" in graph
    assert value(args, "-preset") == "medium" and value(args, "-frames:v") == "900"
    assert args[args.index("/t.wav") - 3: args.index("/t.wav")] == ["-stream_loop", "-1", "-i"]
    silent = fb.naive_render_args(Path("/s.mp4"), None, None, Path("/f.ttf"), 0, 0, 0, None, "crop", 30,
                                  1.0, None, 20, "medium", Path("/o.mp4"))
    assert "anullsrc=r=48000:cl=stereo" in silent and "drawtext" not in value(silent, "-filter_complex")


def test_quote_filter_path():
    assert fb.quote_filter_path(Path("/f/NotoSans[wght].ttf")) == "'/f/NotoSans[wght].ttf'"
    assert fb.quote_filter_path(Path("/a b/it's:x.ttf")) == "'/a b/it'\\''s:x.ttf'"
