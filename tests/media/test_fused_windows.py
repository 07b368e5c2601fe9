"""Hook windows encoded in the normalisation's own run (issue 15): a transcoded source's variants that all
show a hook in the same GOPs get their windows from the one decode of the source, the plain GOPs under
them are deferred (never encoded unless a later variant needs them, then made from the source)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from media.normalize import check_decodes, complete_segments, count_frames, normalize_video, parameter_sets
from media.probe import MediaError
from media.settings import reset_settings
from media.variant_render import VariantOptions, prepare_source, render_variant
from tests.media.conftest import decode_warnings, framemd5

HOOKS = ["Wait for the ending", "Nobody talks about this 👀", "Day 3 of learning to cook"]
OPTIONS = VariantOptions(hook_start_s=0.0, hook_duration_s=1.0, fit="blur")


def _prepare(source, cache, hooks, options=OPTIONS):
    return prepare_source(lambda windows: normalize_video(source, options.fit, cache, windows=windows),
                          [(h, options) for h in hooks], cache, cache / "tmp")


@pytest.mark.parametrize("window_preset", ["", "superfast"])  # the copy's own codec / in-band parameter sets
def test_windows_with_the_normalisation_and_deferred_gops(square_src, tmp_path, monkeypatch, window_preset):
    monkeypatch.setenv("NOVAI_HOOK_WINDOW_PRESET", window_preset)
    reset_settings()
    try:
        cache = tmp_path / "cache"
        norm = _prepare(square_src, cache, HOOKS)
        assert norm.deferred == (0, 1) and not norm.segments[0].exists()
        assert all(p.is_file() for p in norm.segments[1:])
        assert len(list((cache / "hooks" / norm.key).glob("*.ts"))) == 3  # cached with their thumbnails
        assert len(list((cache / "hooks" / norm.key).glob("*.jpg"))) == 3
        outs = []
        for i, hook in enumerate(HOOKS):
            res = render_variant(square_src, None, hook, OPTIONS, tmp_path / f"v{i}.mp4", cache)
            assert res.render_path == "fast" and res.reencoded_s == 0  # its window was made with the copy
            assert res.thumb_segment is not None and res.thumb_segment.is_file()
            outs.append(res.path)
        assert not norm.segments[0].exists()  # no variant needed the plain GOP
        copied = framemd5("concat:" + "|".join(map(str, norm.segments[1:])))
        firsts = set()
        for out in outs:
            assert decode_warnings(out) == ""
            frames = framemd5(str(out))
            assert len(frames) == norm.frames
            assert [m for _, m in frames[30:]] == [m for _, m in copied]  # the copy's GOPs, untouched
            firsts.add(frames[0][1])
        assert len(firsts) == 3  # each its own hook

        # a later variant without a hook needs the plain GOP: made from the source, same headers
        res = render_variant(square_src, None, None, OPTIONS, tmp_path / "plain.mp4", cache)
        assert res.render_path == "copy" and norm.segments[0].is_file()
        assert count_frames(norm.segments[0]) == 30
        assert parameter_sets(norm.segments[0]) == parameter_sets(norm.segments[1])
        assert decode_warnings(res.path) == "" and len(framemd5(str(res.path))) == norm.frames
    finally:
        monkeypatch.undo()
        reset_settings()


def test_no_deferral_when_a_variant_needs_the_plain_gops(square_src, tmp_path):
    """One variant without a hook (or a hook elsewhere): the copy is made whole, as before."""
    cache = tmp_path / "cache"
    norm = _prepare(square_src, cache, [HOOKS[0], ""])
    assert norm.deferred is None and all(p.is_file() for p in norm.segments)
    later = VariantOptions(hook_start_s=2.0, hook_duration_s=1.0, fit="blur")
    cache2 = tmp_path / "cache2"
    norm2 = prepare_source(lambda w: normalize_video(square_src, "blur", cache2, windows=w),
                           [(HOOKS[0], OPTIONS), (HOOKS[1], later)], cache2, cache2 / "tmp")
    assert norm2.deferred is None and all(p.is_file() for p in norm2.segments)


def test_complete_segments_makes_every_deferred_gop_once(square_src, tmp_path):
    cache = tmp_path / "cache"
    options = VariantOptions(hook_start_s=0.5, hook_duration_s=1.8, fit="blur")  # GOPs 0-2 (0.5 s to 2.3 s)
    norm = _prepare(square_src, cache, HOOKS[:2], options)
    assert norm.deferred == (0, 3)
    complete_segments(norm, 3)  # a range without deferred GOPs: nothing made
    assert not any(norm.segments[i].exists() for i in range(3))
    complete_segments(norm, 1, 2)  # one of them needed: the whole deferred range is made in one run
    assert all(count_frames(norm.segments[i]) == 30 for i in range(3))
    check_decodes(list(norm.segments), norm.frames, "the completed copy")  # joined as a variant is: clean


def test_a_truncated_source_is_refused_by_the_transcode(samples, tmp_path):
    """The source is no longer decoded at its end before the transcode: the frames it gives decide."""
    cut = tmp_path / "cut_clip.mp4"
    cut.write_bytes((samples / "videos" / "liveportrait_s18.mp4").read_bytes()[:330_000])
    with pytest.raises(MediaError, match=r"truncated.*cut_clip\.mp4"):
        normalize_video(cut, "blur", tmp_path / "cache")
    assert not list((tmp_path / "cache" / "normalized").glob("*/meta.json"))


def test_windows_encoded_in_local_scratch_reach_a_cache_on_another_filesystem(square_src, tmp_path):
    """A farm worker encodes in local scratch (here /dev/shm) and caches on the shared media mount: the
    windows are copied across, not renamed (CI caught ``EXDEV`` here on 2026-12-04)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) to encode in")
    cache = tmp_path / "cache"
    work = Path(tempfile.mkdtemp(prefix="novai-test-", dir=shm))
    try:
        norm = prepare_source(lambda windows: normalize_video(square_src, "blur", cache, windows=windows),
                              [(h, OPTIONS) for h in HOOKS[:2]], cache, work)
        assert norm.deferred == (0, 1)
        cached = sorted(p.name for p in (cache / "hooks" / norm.key).iterdir())
        assert len(cached) == 4 and not [n for n in cached if n.startswith(".")]  # 2 windows, 2 thumbnails
        res = render_variant(square_src, None, HOOKS[0], OPTIONS, tmp_path / "v.mp4", cache)
        assert res.render_path == "fast" and res.reencoded_s == 0
        assert decode_warnings(res.path) == ""
        assert not list(work.rglob("*.ts"))  # moved, nothing left behind in scratch
    finally:
        shutil.rmtree(work, ignore_errors=True)
