"""Conforming sources are cut by stream copy, not transcoded (issue 15); only hook windows are encoded.

Proofs on a real 1080x1920 H.264 30 frames/s clip made by x264 with other settings than the studio's:
the copied frames are bit-identical to the source's (framemd5), the variant decodes with
``ffmpeg -v warning`` silent, every packet demuxes (PyAV), a non-conforming source is transcoded.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import av
import pytest

from media import canonical
from media import ffmpeg_builder as fb
from media.ffmpeg_run import ffmpeg_exe, run_ffmpeg
from media.normalize import conformance, matching_x264_params, normalize_video, parameter_sets
from media.probe import probe
from media.variant_render import VariantOptions, render_variant, variant_facts, variant_thumbnail
from tests.media.conftest import decode_warnings, framemd5

WINDOW = VariantOptions(hook_start_s=1.2, hook_duration_s=1.0)  # GOPs 1 and 2 (frames 30-89) re-encoded


@pytest.fixture(scope="module")
def conforming_src(samples, tmp_path_factory) -> Path:
    """4 s, 1080x1920, 30 frames/s, x264 ``faster`` CRF 23, a keyframe every 30 frames, AAC audio."""
    out = tmp_path_factory.mktemp("conforming") / "conforming.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1",
                    "-i", str(samples / "videos" / "liveportrait_d13.mp4"),
                    "-i", str(samples / "audio" / "musetalk_sun.wav"), "-map", "0:v", "-map", "1:a", "-vf", "scale=1080:1920,fps=30,format=yuv420p", "-c:v", "libx264", "-preset", "faster",
                    "-crf", "23", "-g", "30", "-c:a", "aac", "-t", "4", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def copy_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("copy-cache")


@pytest.fixture(scope="module")
def norm(conforming_src, copy_cache):
    return normalize_video(conforming_src, "blur", copy_cache)


@pytest.fixture(scope="module")
def variant(conforming_src, norm, copy_cache, samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("copy-out") / "variant.mp4"
    return render_variant(conforming_src, samples / "audio" / "sms_sax-phrase.wav", "Stream copy, hook window",
                          WINDOW, out, copy_cache)


def test_conforming_source_is_cut_by_stream_copy(conforming_src, norm):
    assert norm.copied and norm.segment_frames == (30, 30, 30, 30)
    assert [round(norm.start_s(i), 3) for i in range(4)] == [0.0, 1.0, 2.0, 3.0]
    copied = framemd5("concat:" + "|".join(str(p) for p in norm.segments))
    assert [md5 for _, md5 in copied] == [md5 for _, md5 in framemd5(str(conforming_src))]  # bit-identical
    assert norm.has_audio


def test_variant_joins_the_copied_source_cleanly(conforming_src, norm, variant):
    assert (variant.render_path, variant.reencoded_s) == ("fast", pytest.approx(2.0))
    assert decode_warnings(variant.path) == ""
    src, out = framemd5(str(conforming_src)), framemd5(str(variant.path))
    assert len(out) == len(src) == 120
    outside = [*range(30), *range(90, 120)]
    assert [out[i][1] for i in outside] == [src[i][1] for i in outside]  # stream-copied frames untouched
    assert sum(out[i][1] != src[i][1] for i in range(36, 66)) == 30  # the hook is drawn from 1.2 s to 2.2 s
    with av.open(str(variant.path)) as container:  # a strict demux of every packet
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        assert len(packets) == 120 and all(p.pts is not None for p in packets)
        in_band = stream.codec_context.codec_tag == "avc3"
    window = parameter_sets(Path(norm.folder).parent.parent / "hooks" / norm.key / next(
        p.name for p in (Path(norm.folder).parent.parent / "hooks" / norm.key).glob("*.ts")))
    assert in_band == (window != parameter_sets(norm.segments[0]))  # own SPS/PPS in-band => avc3 sample entry
    info = probe(variant.path)
    assert (info.width, info.height, info.fps, info.duration_s) == (1080, 1920, 30.0, pytest.approx(4.0, abs=0.04))


def test_catalog_facts_come_from_the_renderer(variant, tmp_path):
    facts, info = variant_facts(variant), probe(variant.path)
    assert (facts.width, facts.height, facts.fps, facts.video_codec, facts.audio_codec, facts.has_audio) == (
        info.width, info.height, info.fps, info.video_codec, info.audio_codec, info.has_audio)
    assert facts.duration_s == pytest.approx(info.duration_s, abs=1 / 30)
    assert facts.size_bytes == variant.path.stat().st_size
    thumb = variant_thumbnail(variant, tmp_path / "thumb.jpg")
    from PIL import Image
    with Image.open(thumb) as image:
        assert image.format == "JPEG" and max(image.size) == 320 and image.size[1] > image.size[0]


def test_source_x264_options_reproduce_its_parameter_sets(conforming_src, norm, tmp_path):
    with av.open(str(conforming_src)) as container:
        first = bytes(next(p for p in container.demux(video=0) if p.size))
    options = first.split(b"options: ", 1)[1].split(b"\x00", 1)[0].decode()
    params = matching_x264_params(options)
    assert "deblock=0,0" in params and ":crf=23.0" in params and "psy-rd=1.00,0.00" in params
    codec = canonical.VideoCodec(23, "ultrafast", params)  # the preset's own choices are all overridden
    out = tmp_path / "window.ts"
    run_ffmpeg(fb.hook_segments_args(norm.segments[:1], [fb.WindowOverlay(_png(tmp_path), 0, 0, 0.0, 0.5, out)], 30,
                                     norm.ts_offset_s(0), codec), "test window")
    assert parameter_sets(out) == parameter_sets(norm.segments[0])


def _png(folder: Path) -> Path:
    from PIL import Image
    path = folder / "dot.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(path)
    return path


def test_non_conforming_sources_are_transcoded(square_src, silent_vertical_src):
    assert conformance(square_src, probe(square_src)).reason.startswith("844x844")
    assert not conformance(silent_vertical_src, probe(silent_vertical_src)).ok  # 720x1280
    assert matching_x264_params("cabac=1 ref=1 rc=2pass bitrate=500") == ""  # unpredictable rate control


def test_a_sources_only_variant_renders_in_one_pass(square_src, conforming_src, copy_cache, samples, tmp_path):
    sax = samples / "audio" / "sms_sax-phrase.wav"
    single = render_variant(square_src, sax, "One pass", WINDOW, tmp_path / "single.mp4", tmp_path / "cache",
                            one_pass=True)
    assert single.render_path == "single"
    assert not (tmp_path / "cache" / "normalized").exists()  # no normalised copy was made
    assert decode_warnings(single.path) == ""
    info = probe(single.path)
    assert (info.width, info.height, info.fps, info.video_codec, info.audio_codec) == (1080, 1920, 30.0, "h264", "aac")
    assert info.duration_s == pytest.approx(single.duration_s, abs=0.04) and single.frames == round(probe(square_src).duration_s * 30)
    # a stream-copyable source, or one already normalised, is not rendered in one pass
    copied = render_variant(conforming_src, sax, "One pass", WINDOW, tmp_path / "copied.mp4", copy_cache,
                            one_pass=True)
    assert copied.render_path == "fast"


def test_join_check_stops_past_the_join_but_still_sees_a_broken_one(norm, tmp_path):
    """``check_decodes`` with ``last_join`` decodes only JOIN_TAIL_FRAMES past the join, yet a segment
    whose first frames are damaged (as a bad join shows) is refused, and so is a frame count that is off."""
    from media.normalize import JOIN_TAIL_FRAMES, check_decodes
    from media.probe import MediaError

    first, second = norm.segments[0], norm.segments[1]
    check_decodes([first, second], 60, "the good join", last_join=30)
    data = bytearray(second.read_bytes())
    for packet in range(10, 60):  # payload bytes of the IDR's MPEG-TS packets, headers left alone
        start = packet * 188 + 20
        data[start:start + 100] = bytes(100)
    broken = tmp_path / "broken.ts"
    broken.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="the broken join"):
        check_decodes([first, broken], 60, "the broken join", last_join=30)
    with pytest.raises(MediaError, match="61 in the join"):
        check_decodes([first, second], 61, "a miscount", last_join=30)
    assert 30 + JOIN_TAIL_FRAMES < 60  # the decode above did stop early


@pytest.fixture(scope="module")
def two_s_gop_src(samples, tmp_path_factory) -> Path:
    """4 s, 1080x1920, 30 frames/s, x264 ``faster``, a keyframe every 60 frames (2 s GOPs), AAC audio."""
    out = tmp_path_factory.mktemp("gop2") / "gop2.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1",
                    "-i", str(samples / "videos" / "liveportrait_d13.mp4"),
                    "-i", str(samples / "audio" / "musetalk_sun.wav"), "-map", "0:v", "-map", "1:a",
                    "-vf", "scale=1080:1920,fps=30,format=yuv420p", "-c:v", "libx264", "-preset", "faster",
                    "-crf", "23", "-g", "60", "-keyint_min", "60", "-c:a", "aac", "-t", "4", str(out)], check=True)
    return out


def test_sibling_windows_share_the_gops_after_their_hooks(two_s_gop_src, samples, tmp_path):
    """Two 1 s hooks in a 2 s GOP: the window's second second (after both hooks, at the window codec's
    IDR) is encoded once for both; each variant still has its own hook before it, the same frames as a
    variant that encoded its window alone, and decodes with FFmpeg silent."""
    from media.variant_render import prepare_hook_windows

    hooks, opts = ["POV: the first try", "Nobody talks about this"], VariantOptions(hook_duration_s=1.0)
    cache = tmp_path / "together"
    norm = normalize_video(two_s_gop_src, "blur", cache)
    assert norm.copied and norm.segment_frames == (60, 60)
    assert prepare_hook_windows(norm, [(h, opts) for h in hooks], cache) == 2
    windows = [w.read_bytes() for w in sorted((cache / "hooks" / norm.key).glob("*.ts"))]
    shared = len(os.path.commonprefix([w[::-1] for w in windows]))
    assert shared > 0.2 * min(len(w) for w in windows)  # the same tail bytes end both windows
    frames = []
    for i, text in enumerate(hooks):
        res = render_variant(two_s_gop_src, None, text, opts, tmp_path / f"t{i}.mp4", cache)
        ref = render_variant(two_s_gop_src, None, text, opts, tmp_path / f"a{i}.mp4", tmp_path / f"alone{i}")
        assert res.render_path == ref.render_path == "fast" and res.reencoded_s == 0 < ref.reencoded_s
        assert decode_warnings(res.path) == ""
        md5 = [m for _, m in framemd5(str(res.path))]
        assert md5 == [m for _, m in framemd5(str(ref.path))] and len(md5) == 120
        frames.append(md5)
    assert all(a != b for a, b in zip(frames[0][:30], frames[1][:30]))  # each its own hook
    assert frames[0][30:] == frames[1][30:]  # the shared tail, then the copied GOP
    copied = [m for _, m in framemd5(str(norm.segments[1]))]
    assert frames[0][60:] == copied
