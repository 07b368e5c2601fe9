"""The FFmpeg argument builders, argument by argument (pure functions: no FFmpeg run here)."""

from __future__ import annotations

import re
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


# ffmpeg-python (media.ffmpeg_builder builds its commands with it) writes one filter per chain and
# names the links [s0], [s1]...; these helpers follow the links back from a -map label, so every filter
# and parameter is still checked, in order, whatever the link names.
LABEL = r"\[(?:s\d+|\d+(?::[a-z0-9]+)*)\]"


def graph_nodes(args: list[str]) -> list[tuple[list[str], str, list[str]]]:
    """The -filter_complex as (input labels, filter, output labels), every link produced exactly once."""
    nodes = []
    for spec in value(args, "-filter_complex").split(";"):
        m = re.fullmatch(rf"((?:{LABEL})*)(.+?)((?:{LABEL})*)", spec)
        assert m, spec
        nodes.append((re.findall(LABEL, m.group(1)), m.group(2), re.findall(LABEL, m.group(3))))
    outs = [o for _, _, o in nodes for o in o]
    assert len(outs) == len(set(outs)), outs
    return nodes


def chain(args: list[str], label: str) -> tuple[list[str], list[str]]:
    """(sources, filters in order) producing ``label``: followed back through single-input filters to
    an input stream, or to a multi-input filter (whose inputs are the sources; it is the first filter)."""
    producers = {o: (ins, f) for ins, f, outs in graph_nodes(args) for o in outs}
    filters: list[str] = []
    while label in producers:
        ins, f = producers[label]
        filters.insert(0, f)
        if len(ins) != 1:
            return ins, filters
        label = ins[0]
    return [label], filters


def mapped(args: list[str], nth: int = 0) -> tuple[list[str], list[str]]:
    """The chain behind the ``nth`` -map."""
    return chain(args, value(args, "-map", nth))


def assert_codec_options(args: list[str], codec_args: list[str]) -> None:
    """Every canonical codec option is given once, with the canonical value."""
    for opt, val in zip(codec_args[::2], codec_args[1::2]):
        assert args.count(opt) == 1, opt
        assert value(args, opt) == val, opt


FIT_CHAINS = {
    "crop": ["scale=1080:1920:force_original_aspect_ratio=increase", "crop=1080:1920", "setsar=1",
             "format=yuv420p"],
    "pad": ["scale=1080:1920:force_divisible_by=2:force_original_aspect_ratio=decrease",
            "pad=1080:1920:(ow-iw)/2:(oh-ih)/2:color=black", "setsar=1", "format=yuv420p"],
}
RETIME = ["setpts=PTS-STARTPTS", "fps=30"]


@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_fit_chains(fit):
    args = fb.normalize_video_args(Path("/in/src.mp4"), Path("/c/seg_%05d.ts"), fit, 30, CODEC)
    assert mapped(args) == (["[0:v]"], RETIME + FIT_CHAINS[fit])
    assert len(graph_nodes(args)) == 6


def test_fit_blur_chain():
    args = fb.normalize_video_args(Path("/in/src.mp4"), Path("/c/seg_%05d.ts"), "blur", 30, CODEC)
    (bg, fg), top = mapped(args)
    assert top == ["overlay=(W-w)/2:(H-h)/2", "format=yuv420p"]
    assert chain(args, bg) == (["[0:v]"], RETIME + ["split=2", "scale=270:480:force_original_aspect_ratio=increase",
                                                    "crop=270:480", "boxblur=12:2", "scale=1080:1920", "setsar=1"])
    assert chain(args, fg) == (["[0:v]"], RETIME + [
        "split=2", "scale=1080:1920:force_divisible_by=2:force_original_aspect_ratio=decrease", "setsar=1"])
    assert len(graph_nodes(args)) == 12


def test_fit_rejects_unknown_mode():
    with pytest.raises(ValueError, match="stretch"):
        fb.normalize_video_args(Path("/in/src.mp4"), Path("/c/seg_%05d.ts"), "stretch", 30, CODEC)


def test_normalize_video_args():
    args = fb.normalize_video_args(Path("/in/src.mp4"), Path("/c/seg_%05d.ts"), "pad", 151, CODEC)
    assert args[:2] == ["-i", "/in/src.mp4"] and args.count("-i") == 1
    assert args.count("-map") == 1 and mapped(args) == (["[0:v]"], RETIME + FIT_CHAINS["pad"])
    assert {"-an", "-sn", "-dn"} <= set(args)
    assert value(args, "-map_metadata") == "-1"
    assert value(args, "-frames:v") == "151"
    assert_codec_options(args, canonical.video_codec_args(CODEC))
    assert value(args, "-x264-params") == canonical.x264_params()
    assert value(args, "-output_ts_offset") == "1"
    assert value(args, "-f") == "segment"
    assert value(args, "-segment_format") == "mpegts"
    assert value(args, "-segment_time") == "1"
    assert value(args, "-segment_time_delta") == "0.016667"
    assert value(args, "-reset_timestamps") == "0"
    assert args[-1] == "/c/seg_%05d.ts"


AUDIO_FORMAT = ["aresample=48000", "aformat=channel_layouts=stereo:sample_fmts=fltp"]


def test_original_audio_args_align_and_fix_length():
    late = fb.original_audio_args(Path("s.mp4"), Path("a.m4a"), 9.1667, -0.842)
    assert mapped(late) == (["[0:a:0]"], ["asetpts=PTS-STARTPTS", "atrim=start=0.842", "asetpts=PTS-STARTPTS",
                                          *AUDIO_FORMAT, "apad=whole_dur=9.1667", "atrim=end=9.1667"])
    assert {"-vn", "-sn", "-dn"} <= set(late) and value(late, "-map_metadata") == "-1"
    assert_codec_options(late, canonical.audio_codec_args())
    assert value(late, "-t") == "9.1667" and value(late, "-f") == "mp4" and late[-1] == "a.m4a"
    early = fb.original_audio_args(Path("s"), Path("a"), 5, 0.25)
    assert mapped(early)[1][:2] == ["asetpts=PTS-STARTPTS", "adelay=all=1:delays=250"]
    same = fb.original_audio_args(Path("s"), Path("a"), 5, 0.0)
    assert mapped(same)[1][:3] == ["asetpts=PTS-STARTPTS", "anull", "aresample=48000"]


LOOPED = ["asetpts=N/SR/TB", *AUDIO_FORMAT]


def test_replace_audio_args_loop_trim_fade():
    args = fb.replace_audio_args(Path("/a/song.wav"), Path("/o.m4a"), 10.0)
    assert args[:4] == ["-stream_loop", "-1", "-i", "/a/song.wav"] and args.count("-i") == 1
    assert mapped(args) == (["[0:a:0]"], LOOPED + ["atrim=end=10", "afade=d=0.75:st=9.25:t=out", "apad=whole_dur=10"])
    assert "-vn" in args and value(args, "-map_metadata") == "-1"
    assert_codec_options(args, canonical.audio_codec_args())
    assert value(args, "-t") == "10" and value(args, "-f") == "mp4" and args[-1] == "/o.m4a"


def test_fade_is_shorter_on_very_short_videos():
    args = fb.replace_audio_args(Path("a"), Path("o"), 1.2)
    assert "afade=d=0.4:st=0.8:t=out" in mapped(args)[1]


def test_mix_audio_args():
    args = fb.mix_audio_args(Path("/n/audio.m4a"), Path("/a/song.mp3"), Path("/o.m4a"), 5.0)
    assert value(args, "-i", 0) == "/n/audio.m4a" and value(args, "-i", 1) == "/a/song.mp3"
    assert args[args.index("/a/song.mp3") - 3: args.index("/a/song.mp3")] == ["-stream_loop", "-1", "-i"]
    (orig, music), top = mapped(args)
    assert top == ["amix=dropout_transition=0:duration=first:inputs=2:normalize=0", "atrim=end=5",
                   "afade=d=0.75:st=4.25:t=out"]
    assert chain(args, orig) == (["[0:a:0]"], AUDIO_FORMAT + ["apad=whole_dur=5"])
    assert chain(args, music) == (["[1:a:0]"], LOOPED + ["atrim=end=5", "volume=0.35"])
    assert_codec_options(args, canonical.audio_codec_args())
    assert value(args, "-t") == "5" and value(args, "-f") == "mp4" and args[-1] == "/o.m4a"


def test_silent_audio_args():
    args = fb.silent_audio_args(Path("/o.m4a"), 4.5)
    assert args[:4] == ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]
    assert value(args, "-map") == "0:a" and "-filter_complex" not in args
    assert_codec_options(args, canonical.audio_codec_args())
    assert value(args, "-t") == "4.5" and value(args, "-f", 1) == "mp4" and args[-1] == "/o.m4a"


def test_hook_overlay_window_is_half_open_and_numeric():
    segs = [Path("/n/seg_00002.ts")]
    args = fb.hook_segments_args(segs, [fb.WindowOverlay(Path("/w/hook.png"), 120, 270, 0.5, 2.0, Path("/h/x.ts"))],
                                 60, 3.0, CODEC)
    # ffmpeg-python escapes the commas for the filtergraph level instead of quoting the expression
    assert mapped(args) == (["[0:v]", "[1:v]"], ["overlay=enable=gte(t\\,0.5)*lt(t\\,2):x=120:y=270",
                                                  "format=yuv420p"])
    whole = fb.full_render_args(segs, Path("/h.png"), 10, 20, Path("/au.m4a"), 90, CODEC, Path("/o.mp4"))
    assert mapped(whole) == (["[0:v]", "[1:v]"], ["overlay=x=10:y=20", "format=yuv420p"])


def test_hook_segments_args_for_one_hook():
    segs = [Path("/n/seg_00002.ts"), Path("/n/seg_00003.ts")]
    args = fb.hook_segments_args(segs, [fb.WindowOverlay(Path("/w/hook.png"), 133, 270, 0.5, 2.0, Path("/h/x.ts"))],
                                 60, 3.0, CODEC)
    assert value(args, "-i", 0) == "concat:/n/seg_00002.ts|/n/seg_00003.ts"
    assert value(args, "-i", 1) == "/w/hook.png" and args.count("-i") == 2
    assert args.count("-map") == 1
    assert mapped(args) == (["[0:v]", "[1:v]"], ["overlay=enable=gte(t\\,0.5)*lt(t\\,2):x=133:y=270",
                                                  "format=yuv420p"])
    assert "-an" in args and value(args, "-map_metadata") == "-1"
    assert value(args, "-frames:v") == "60"
    assert value(args, "-output_ts_offset") == "3"
    assert value(args, "-f") == "mpegts" and args[-1] == "/h/x.ts"
    # identical codec arguments to the normalisation: SPS/PPS must match
    assert_codec_options(args, canonical.video_codec_args(CODEC))
    norm = fb.normalize_video_args(Path("/in/src.mp4"), Path("/c/seg_%05d.ts"), "pad", 151, CODEC)
    codec_opts = canonical.video_codec_args(CODEC)[::2]
    assert [(o, value(args, o)) for o in codec_opts] == [(o, value(norm, o)) for o in codec_opts]


def test_remux_args_copy_everything_faststart():
    args = fb.remux_args([Path("/a.ts"), Path("/b.ts")], Path("/au.m4a"), Path("/o.mp4"))
    assert value(args, "-i", 0) == "concat:/a.ts|/b.ts" and value(args, "-i", 1) == "/au.m4a"
    assert value(args, "-map", 0) == "0:v:0" and value(args, "-map", 1) == "1:a:0" and args.count("-map") == 2
    assert value(args, "-c") == "copy"
    assert value(args, "-map_metadata") == "-1"
    assert value(args, "-movflags") == "+faststart"
    assert value(args, "-f") == "mp4" and args[-1] == "/o.mp4"
    assert "-c:v" not in args and "-filter_complex" not in args


def test_full_render_args():
    args = fb.full_render_args([Path("/a.ts")], Path("/h.png"), 5, 6, Path("/au.m4a"), 90, CODEC, Path("/o.mp4"))
    assert [value(args, "-i", n) for n in range(3)] == ["concat:/a.ts", "/h.png", "/au.m4a"]
    assert mapped(args) == (["[0:v]", "[1:v]"], ["overlay=x=5:y=6", "format=yuv420p"])
    assert len(graph_nodes(args)) == 2
    assert value(args, "-map", 1) == "2:a:0" and value(args, "-c:a") == "copy"
    assert_codec_options(args, canonical.video_codec_args(CODEC))
    assert value(args, "-frames:v") == "90" and value(args, "-movflags") == "+faststart"
    assert value(args, "-map_metadata") == "-1" and value(args, "-f") == "mp4" and args[-1] == "/o.mp4"
    windowed = fb.full_render_args([Path("/a.ts")], Path("/h.png"), 5, 6, Path("/au.m4a"), 90, CODEC,
                                   Path("/o.mp4"), (1.5, 4.5))
    assert mapped(windowed)[1] == ["overlay=enable=gte(t\\,1.5)*lt(t\\,4.5):x=5:y=6", "format=yuv420p"]


def test_concat_url_refuses_pipe_and_empty():
    with pytest.raises(ValueError):
        fb.concat_url([])
    with pytest.raises(ValueError):
        fb.concat_url([Path("/a|b.ts")])


def test_naive_render_args_use_drawtext_with_textfile():
    args = fb.naive_render_args(Path("/s.mp4"), Path("/t.wav"), Path("/w/hook.txt"), Path("/f/Noto.ttf"), 64,
                                270, 0.0, 3.0, "pad", 900, 30.0, 0.0, 20, "medium", Path("/o.mp4"))
    assert mapped(args, 0) == (["[0:v]"], RETIME + FIT_CHAINS["pad"] + [
        ("drawtext=bordercolor=black:borderw=5:enable=gte(t\\,0)*lt(t\\,3):expansion=none:fontcolor=white:"
         "fontfile=/f/Noto.ttf:fontsize=64:textfile=/w/hook.txt:x=(w-text_w)/2:y=270")])
    assert mapped(args, 1) == (["[1:a:0]"], LOOPED + ["atrim=end=30", "afade=d=0.75:st=29.25:t=out",
                                                      "apad=whole_dur=30"])
    assert value(args, "-preset") == "medium" and value(args, "-crf") == "20" and value(args, "-frames:v") == "900"
    assert_codec_options(args, canonical.video_codec_args(VideoCodec(crf=20, preset="medium")))
    assert_codec_options(args, canonical.audio_codec_args())
    assert value(args, "-t") == "30" and value(args, "-movflags") == "+faststart" and args[-1] == "/o.mp4"
    assert args[args.index("/t.wav") - 3: args.index("/t.wav")] == ["-stream_loop", "-1", "-i"]
    kept = fb.naive_render_args(Path("/s.mp4"), None, None, Path("/f.ttf"), 0, 0, 0, None, "crop", 30,
                                1.0, -0.5, 20, "medium", Path("/o.mp4"))
    assert kept.count("-i") == 1 and mapped(kept, 0)[1][-1] == "null"
    assert mapped(kept, 1) == (["[0:a:0]"], ["asetpts=PTS-STARTPTS", "atrim=start=0.5", "asetpts=PTS-STARTPTS",
                                             *AUDIO_FORMAT, "apad=whole_dur=1", "atrim=end=1"])
    silent = fb.naive_render_args(Path("/s.mp4"), None, None, Path("/f.ttf"), 0, 0, 0, None, "crop", 30,
                                  1.0, None, 20, "medium", Path("/o.mp4"))
    assert silent[silent.index("anullsrc=r=48000:cl=stereo") - 3:][:3] == ["-f", "lavfi", "-i"]
    assert mapped(silent, 1) == (["[1:a]"], ["anull"])
    assert "drawtext" not in value(silent, "-filter_complex")


def test_drawtext_paths_are_escaped_for_both_filtergraph_levels():
    args = fb.naive_render_args(Path("/s.mp4"), None, Path("/w/hook.txt"), Path("/a b/it's:[wght].ttf"), 64,
                                270, 0.0, None, "crop", 30, 1.0, None, 20, "medium", Path("/o.mp4"))
    drawtext = mapped(args)[1][-1]
    # option level: ' and : get a backslash; graph level: that backslash, ' [ and ] get one more
    assert "fontfile=/a b/it\\\\\\'s\\\\:\\[wght\\].ttf:" in drawtext
    assert "enable" not in drawtext


def test_hook_segments_args_decode_once_for_every_hook():
    segs = [Path("/n/seg_00002.ts"), Path("/n/seg_00003.ts")]
    overlays = [fb.WindowOverlay(Path(f"/w/h{i}.png"), 100 + i, 200, 0.5, 2.0, Path(f"/h/{i}.ts"),
                                 Path(f"/h/{i}.jpg") if i != 1 else None) for i in range(3)]
    args = fb.hook_segments_args(segs, overlays, 60, 3.0, CODEC, 0.1)
    assert args.count("-i") == 4 and value(args, "-i", 0) == "concat:/n/seg_00002.ts|/n/seg_00003.ts"
    graph = value(args, "-filter_complex")
    assert graph.count("split=3") == 1 and graph.count("overlay=") == 3 and graph.count("trim=end_frame=1") == 2
    outs = [a for a in args if a.startswith("/h/")]
    assert outs == ["/h/0.ts", "/h/0.jpg", "/h/1.ts", "/h/2.ts", "/h/2.jpg"]
    assert args.count("-f") == 5 and args.count("mpegts") == 3 and args.count("-frames:v") == 5
    assert args.count("setts=dts=DTS-round(0.1/TB)") == 3 and args.count("-output_ts_offset") == 3
    with pytest.raises(ValueError):
        fb.hook_segments_args(segs, [], 60, 3.0, CODEC)
    shared = fb.hook_segments_args(segs, overlays, 60, 3.0, CODEC, 0.1, tail=(30, Path("/h/tail.ts")))
    graph = value(shared, "-filter_complex")
    assert graph.count("split=4") == 1 and graph.count("trim=start_frame=30") == 1
    # the tail once (the last 30 frames, timestamps 1 s later), then each hook's first 30 frames
    assert [shared[i + 1] for i, a in enumerate(shared) if a == "-output_ts_offset"] == ["4", "3", "3", "3"]
    assert [shared[i + 1] for i, a in enumerate(shared) if a == "-frames:v"] == ["30", "30", "1", "30", "30", "1"]
    for bad in (0, 60):
        with pytest.raises(ValueError):
            fb.hook_segments_args(segs, overlays, 60, 3.0, CODEC, tail=(bad, Path("/h/tail.ts")))
