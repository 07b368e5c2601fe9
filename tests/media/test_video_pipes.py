"""FFmpeg frame pipes: command lines argument by argument, and a real round trip."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from media.probe import probe
from media.video_pipes import (
    FrameReader,
    FrameWriter,
    VideoFormat,
    decode_command,
    encode_command,
    read_video_format,
)
from tests.clips import make_faceless_clip


@pytest.fixture(scope="module")
def faceless_clip(tmp_path_factory) -> Path:
    return make_faceless_clip(tmp_path_factory.mktemp("clips"))


def _fmt(**changes) -> VideoFormat:
    base = {"width": 640, "height": 360, "rate": Fraction(2997, 100), "frame_count": 275,
            "color_matrix": "bt709", "full_range": False, "video_start_s": 0.852, "audio_codec": "aac",
            "audio_start_s": 0.008}
    base.update(changes)
    return VideoFormat(**base)


def _after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_decode_command_keeps_every_frame_and_the_colour_matrix():
    args = decode_command("ffmpeg", Path("in.mp4"), _fmt())
    assert _after(args, "-i") == "in.mp4" and _after(args, "-map") == "0:v:0"
    assert _after(args, "-fps_mode") == "passthrough"
    assert _after(args, "-vf") == "scale=in_color_matrix=bt709:in_range=tv,format=rgb24"
    assert args[-3:] == ["-pix_fmt", "rgb24", "pipe:1"] and _after(args, "-f") == "rawvideo"


def test_encode_command_copies_aac_and_keeps_rate_offset_and_colour():
    args = encode_command("ffmpeg", Path("in.mp4"), Path("out.mp4"), _fmt(), crf=23, preset="fast")
    assert _after(args, "-s") == "640x360" and _after(args, "-framerate") == "2997/100"
    assert _after(args, "-itsoffset") == "0.844000"
    assert [a for i, a in enumerate(args) if args[i - 1] == "-i"] == ["pipe:0", "in.mp4"]
    assert [a for i, a in enumerate(args) if args[i - 1] == "-map"] == ["0:v:0", "1:a:0"]
    assert _after(args, "-c:v") == "libx264" and _after(args, "-crf") == "23" and _after(args, "-preset") == "fast"
    assert _after(args, "-pix_fmt") == "rgb24" and args[args.index("-pix_fmt", args.index("-c:v")) + 1] == "yuv420p"
    assert _after(args, "-c:a") == "copy" and _after(args, "-colorspace") == "bt709"
    assert args[-1] == "out.mp4"


def test_encode_command_reencodes_other_audio_and_handles_silence_and_odd_sizes():
    mp3 = encode_command("ffmpeg", Path("in.mov"), Path("o.mp4"), _fmt(audio_codec="mp3"))
    assert _after(mp3, "-c:a") == "aac" and _after(mp3, "-b:a") == "192k"
    silent = encode_command("ffmpeg", Path("in.mp4"), Path("o.mp4"), _fmt(audio_codec="", video_start_s=0.5))
    assert "-itsoffset" not in silent and "-c:a" not in silent and silent.count("-i") == 1
    odd = encode_command("ffmpeg", Path("in.mp4"), Path("o.mp4"), _fmt(width=845, color_matrix="bt601"))
    assert _after(odd, "-vf").startswith("crop=trunc(iw/2)*2:trunc(ih/2)*2,")
    assert _after(odd, "-colorspace") == "smpte170m"


def test_read_video_format_of_samples(samples, tmp_path):
    fmt = read_video_format(samples / "videos" / "short_hamilton_clip.mp4")
    assert (fmt.width, fmt.height, fmt.rate) == (640, 360, Fraction(2997, 100))
    assert fmt.audio_codec == "aac" and fmt.video_offset_s == pytest.approx(0.844, abs=0.002)
    silent = read_video_format(samples / "videos" / "liveportrait_d13.mp4")
    assert (silent.width, silent.height, silent.audio_codec, silent.video_offset_s) == (720, 1280, "", 0.0)
    with pytest.raises(ValueError, match="no video stream in sms_sax-phrase.wav"):
        read_video_format(samples / "audio" / "sms_sax-phrase.wav")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01not a video" * 100)
    with pytest.raises(ValueError, match="junk.mp4"):
        read_video_format(junk)


def test_round_trip_keeps_frames_and_audio(faceless_clip, tmp_path):
    fmt = read_video_format(faceless_clip)
    out = tmp_path / "copy.mp4"
    with FrameReader(faceless_clip, fmt) as reader, FrameWriter(faceless_clip, out, fmt, preset="ultrafast") as writer:
        frames = 0
        for frame in reader:
            writer.write(frame)
            frames += 1
        writer.finish()
    src, dst = probe(faceless_clip), probe(out)
    assert frames == 25 and dst.frame_count == src.frame_count
    assert dst.audio_codec == "aac" and dst.audio_duration_s == pytest.approx(src.audio_duration_s, abs=0.03)


def test_writer_abort_and_bad_frame(faceless_clip, tmp_path):
    fmt = read_video_format(faceless_clip)
    out = tmp_path / "partial.mp4"
    with FrameWriter(faceless_clip, out, fmt, preset="ultrafast") as writer:
        writer.write(np.zeros((fmt.height, fmt.width, 3), np.uint8))
        with pytest.raises(ValueError, match="does not match"):
            writer.write(np.zeros((10, 10, 3), np.uint8))
    assert not out.exists()  # left without finish(): aborted, nothing left behind
