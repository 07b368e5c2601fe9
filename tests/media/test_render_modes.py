"""Every fit mode and audio mode at least once, on short real inputs; the B-frame (veryfast) join."""

from __future__ import annotations

import itertools
import threading

import av
import numpy as np
import pytest
from PIL import Image as PILImage

from media.normalize import normalize_video, parameter_sets
from media.probe import probe
from media.settings import reset_settings
from media.variant_render import VariantOptions, _encoder_proof, _transcoded_window_codec, render_variant
from tests.media.conftest import best_correlation, decode_warnings, framemd5, gray_frames, mono


def first_frame(norm) -> np.ndarray:
    return gray_frames(str(norm.segments[0]), {0}, scale=1)[0]


def test_fit_pad_crop_blur_on_a_square_source(square_src, render_cache, norm_square_blur):
    pad = first_frame(normalize_video(square_src, "pad", render_cache))
    crop = first_frame(normalize_video(square_src, "crop", render_cache))
    blur = first_frame(norm_square_blur)
    assert pad.shape == crop.shape == blur.shape == (1920, 1080)
    # 844x844 fitted into 1080 wide = 1080x1080 in the middle; 420 rows above and below
    assert pad[:400].max() <= 20 and pad[-400:].max() <= 20 and pad[500:1400].std() > 20
    assert crop[:400].mean() > 30 and crop[-400:].mean() > 30  # filled, no bars
    assert blur[:400].mean() > 30  # filled with the blurred copy ...
    sharpness = lambda a: float(np.abs(np.diff(a, axis=1)).mean())
    assert sharpness(blur[:400]) < 0.5 * sharpness(blur[500:1400])  # ... which is blurred
    assert np.abs(blur[500:1400] - pad[500:1400]).mean() < 3  # same picture in the middle


def test_keep_on_a_source_whose_video_starts_late_stays_in_sync(samples, render_cache, tmp_path):
    src = samples / "videos" / "short_hamilton_clip.mp4"  # video starts at 0.85 s, audio at 0.008 s
    info = probe(src)
    res = render_variant(src, None, None, VariantOptions(fit="crop", audio_mode="keep"), tmp_path / "k.mp4",
                         render_cache)
    out = probe(res.path)
    assert res.render_path == "copy"
    assert out.video_start_s == 0.0 and abs(out.duration_s - info.duration_s) <= 2 / 30
    assert abs(out.audio_duration_s - out.duration_s) <= 0.03
    expected = round((info.video_start_s - info.audio_start_s) * 8000)
    lag, corr = best_correlation(mono(res.path), mono(src), expected, 400, 3 * 8000)
    assert corr > 0.8 and abs(lag - expected) <= 8 * 20, (lag, expected, corr)  # within 20 ms
    assert decode_warnings(res.path) == ""


def test_mix_puts_the_track_under_the_original(square_src, samples, render_cache, tmp_path, norm_square_blur):
    """Without ducking and loudness (duck_db 0, loudness_lufs None) the mix is linear."""
    track = samples / "audio" / "pydub_format_test.m4a"
    res = render_variant(square_src, track, None, VariantOptions(audio_mode="mix", duck_db=0, loudness_lufs=None),
                         tmp_path / "m.mp4",
                         render_cache)
    out, orig, trk = mono(res.path), mono(square_src), mono(track)
    n = 3 * 8000
    c_orig = best_correlation(out, orig, 0, 80, n)[1]
    c_track = best_correlation(out - 0.0 * out, trk, 0, 80, n)[1]
    residual = out[:n] - orig[:n] * (np.dot(out[:n], orig[:n]) / np.dot(orig[:n], orig[:n]))
    c_resid = best_correlation(residual, trk, 0, 80, n)[1]
    assert c_orig > 0.6, c_orig  # the voice dominates
    assert c_resid > 0.5 and c_track > 0.05, (c_track, c_resid)  # and the track is in there too


def test_silent_source_gets_a_track_or_silence(silent_vertical_src, sax, render_cache, tmp_path):
    mixed = render_variant(silent_vertical_src, sax, None, VariantOptions(audio_mode="mix", fit="pad"),
                           tmp_path / "mix.mp4", render_cache)
    _lag, corr = best_correlation(mono(mixed.path), mono(sax), 0, 80, 8000)
    assert corr > 0.8
    kept = render_variant(silent_vertical_src, None, "Day 1 of learning to edit like a pro",
                          VariantOptions(audio_mode="keep", fit="pad", hook_duration_s=1), tmp_path / "keep.mp4",
                          render_cache)
    info = probe(kept.path)
    assert info.has_audio and info.audio_codec == "aac" and abs(info.audio_duration_s - info.duration_s) < 0.03
    assert np.abs(mono(kept.path)).max() < 1e-4  # silent AAC track
    replaced_none = render_variant(silent_vertical_src, None, None, VariantOptions(fit="pad"),
                                   tmp_path / "none.mp4", render_cache)  # replace without a track: silence
    assert probe(replaced_none.path).has_audio


@pytest.fixture(scope="module")
def sax(samples):
    return samples / "audio" / "sms_sax-phrase.wav"


def test_two_workers_normalising_at_once_share_one_copy(silent_vertical_src, render_cache):
    results, errors = [], []

    def work():
        try:
            results.append(normalize_video(silent_vertical_src, "crop", render_cache))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2 and results[0] == results[1]
    folder = results[0].folder
    assert folder.is_dir() and not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]
    def stamps():
        return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name != "meta.json"}
    before = stamps()
    again = normalize_video(silent_vertical_src, "crop", render_cache)  # cached: nothing re-encoded
    assert again == results[0] and stamps() == before
    norm = results[0]
    assert norm.frames == round(probe(silent_vertical_src).duration_s * 30) and not norm.has_audio
    assert all(n == 30 for n in norm.segment_frames[:-1]) and 0 < norm.segment_frames[-1] <= 30


def test_bframe_preset_joins_cleanly(silent_vertical_src, sax, tmp_path, monkeypatch):
    """With the production presets (copy ``veryfast``: B-frames, CABAC; window ``ultrafast``: neither, its
    own SPS/PPS in-band) the re-encoded hook GOP carries the same timestamps as the GOP it replaces and
    the join decodes cleanly."""
    monkeypatch.setenv("NOVAI_OUTPUT_PRESET", "veryfast")
    monkeypatch.setenv("NOVAI_HOOK_WINDOW_PRESET", "ultrafast")
    reset_settings()
    try:
        cache = tmp_path / "cache"
        norm = normalize_video(silent_vertical_src, "blur", cache)
        res = render_variant(silent_vertical_src, sax, "Nobody talks about this editing trick 🤫",
                             VariantOptions(hook_start_s=1.0, hook_duration_s=0.5), tmp_path / "b.mp4", cache)
    finally:
        monkeypatch.undo()
        reset_settings()
    assert res.render_path == "fast" and res.reencoded_s == pytest.approx(1.0)
    assert decode_warnings(res.path) == ""
    out = framemd5(str(res.path))
    ref = framemd5("concat:" + "|".join(map(str, norm.segments)))
    assert len(out) == len(ref) == norm.frames
    assert [m for _, m in out[:30]] == [m for _, m in ref[:30]]
    assert all(out[i][1] != ref[i][1] for i in range(30, 45))
    def packets(path):
        with av.open(str(path)) as c:
            return [(p.pts, p.dts) for p in c.demux(video=0) if p.size]
    hook_ts = next((cache / "hooks" / norm.key).glob("*.ts"))
    new, old = packets(hook_ts), packets(norm.segments[1])
    assert sorted(p for p, _ in new) == sorted(p for p, _ in old)  # same presentation times
    assert new[0][1] == old[0][1] and all(b[1] > a[1] for a, b in itertools.pairwise(new))  # same decode start
    assert all(d <= p for p, d in new)
    if len(norm.segments) > 2:
        assert new[-1][1] < packets(norm.segments[2])[0][1]
    with av.open(str(res.path)) as c:
        assert c.streams.video[0].codec_context.has_b_frames


def _sps_id(sps: bytes) -> int:
    """seq_parameter_set_id of an SPS NAL unit (ue(v) after profile, constraint flags and level)."""
    bits = "".join(f"{b:08b}" for b in sps[4:12])
    zeros = bits.index("1")
    return int(bits[zeros:2 * zeros + 1], 2) - 1


def test_hook_window_with_other_headers_carries_them_in_band(silent_vertical_src, tmp_path, monkeypatch):
    """ultrafast copy (no CABAC, no B-frames) + superfast window: the window's SPS/PPS differ, so it
    carries its own under id 7 at its IDR, the MP4 is tagged avc3, the join is proved (once per codec
    pair for a transcoded copy, which is our own encode) and every frame outside the window is the copy's."""
    monkeypatch.setenv("NOVAI_HOOK_WINDOW_PRESET", "superfast")
    reset_settings()
    try:
        cache = tmp_path / "cache"
        norm = normalize_video(silent_vertical_src, "crop", cache)
        proof = _encoder_proof(_transcoded_window_codec())
        proof.unlink(missing_ok=True)
        res = render_variant(silent_vertical_src, None, "Rate this transition from 1 to 10 👇",
                             VariantOptions(hook_duration_s=1, fit="crop"), tmp_path / "f.mp4", cache)
        assert proof.is_file()  # the decode proof of this codec pair
    finally:
        monkeypatch.undo()
        reset_settings()
    hook_ts = next((cache / "hooks" / norm.key).glob("*.ts"))
    window, copy = parameter_sets(hook_ts), parameter_sets(norm.segments[0])
    assert window != copy and {_sps_id(n) for n in window if n[0] & 0x1F == 7} == {7}
    assert {_sps_id(n) for n in copy if n[0] & 0x1F == 7} == {0}
    assert decode_warnings(res.path) == ""
    with av.open(str(res.path)) as c:
        assert c.streams.video[0].codec_context.codec_tag == "avc3"
    out, ref = framemd5(str(res.path)), framemd5("concat:" + "|".join(map(str, norm.segments)))
    assert len(out) == len(ref) and [m for _, m in out[30:]] == [m for _, m in ref[30:]]
    assert all(out[i][1] != ref[i][1] for i in range(0, 30, 5))  # the hook is drawn in the window


def test_naive_baseline_renders_the_same_format(silent_vertical_src, sax, tmp_path):
    from media.variant_render import render_naive
    res = render_naive(silent_vertical_src, sax, 'He said it was "just a filter"… 100% \\ C:\\x',
                       VariantOptions(fit="pad", hook_duration_s=1), tmp_path / "naive.mp4", preset="ultrafast")
    info, src = probe(res.path), probe(silent_vertical_src)
    assert res.render_path == "full" and (info.width, info.height, info.fps) == (1080, 1920, 30.0)
    assert abs(info.duration_s - src.duration_s) <= 2 / 30 and info.has_audio
    assert decode_warnings(res.path) == ""
    a = gray_frames(str(res.path), {0, info.frame_count - 1}, scale=1)
    top = slice(270, 400)
    assert np.abs(a[0][top] - a[info.frame_count - 1][top]).mean() > 5  # text at t=0, gone at the end


def test_prune_cache_removes_only_entries_unused_for_long(silent_vertical_src, tmp_path):
    import os
    import time

    from media.normalize import prune_cache
    cache = tmp_path / "cache"
    res = render_variant(silent_vertical_src, None, "Wait for the end 😳",
                         VariantOptions(fit="crop", hook_duration_s=1), tmp_path / "v.mp4", cache)
    entries = [*(cache / "normalized").iterdir(), *(cache / "hooks").rglob("*.ts"), *(cache / "audio").iterdir()]
    assert len(entries) == 3
    assert prune_cache(cache, 3600) == 0 and all(e.exists() for e in entries)
    old = time.time() - 7200
    for path in [entries[1], entries[0] / "meta.json"]:
        os.utime(path, (old, old))
    freed = prune_cache(cache, 3600)
    assert freed > 0 and not entries[0].exists() and not entries[1].exists() and entries[2].exists()
    assert res.path.exists()  # outputs are never touched


def test_the_synced_audio_is_extracted_only_when_a_variant_uses_it(square_src, sax, tmp_path):
    """A replaced track never needs the source's own audio (issue 15: 0.55 CPU s a source saved); the
    first variant that keeps it extracts it once, in sync; without the source it is a clear error."""
    from media.normalize import load_normalized, synced_audio
    from media.probe import MediaError

    cache = tmp_path / "cache"
    render_variant(square_src, sax, "Replaced track", VariantOptions(hook_duration_s=1), tmp_path / "r.mp4", cache)
    norm = normalize_video(square_src, "blur", cache)
    assert norm.has_audio and not norm.audio.exists()
    res = render_variant(square_src, None, None, VariantOptions(audio_mode="keep"), tmp_path / "k.mp4", cache)
    assert norm.audio.is_file() and probe(res.path).has_audio
    assert probe(norm.audio).duration_s == pytest.approx(norm.duration_s, abs=0.03)
    norm.audio.unlink()
    orphan = load_normalized(norm.folder)  # no source known: nothing to extract from
    with pytest.raises(MediaError, match="original audio of retalking_face_2.mp4"):
        synced_audio(orphan)


def test_sibling_hook_windows_are_encoded_together_and_used_by_each_variant(silent_vertical_src, tmp_path):
    """Three variants of one source: prepare_hook_windows encodes their windows in one run (the GOPs
    decoded once); each variant then finds its window cached and its frames are those a variant
    encoding its own window alone gets."""
    from media.thumbnails import THUMB_SIZE
    from media.variant_render import prepare_hook_windows
    hooks = ["POV: the first try", "Wait for the end 👀", "Nobody talks about this"]
    opts = VariantOptions(hook_duration_s=1, fit="crop")
    cache = tmp_path / "together"
    norm = normalize_video(silent_vertical_src, "crop", cache)
    assert prepare_hook_windows(norm, [(hooks[0], opts)], cache) == 0  # one window: the variant encodes it
    assert prepare_hook_windows(norm, [(h, opts) for h in hooks] + [(None, opts)], cache) == 3
    windows = sorted((cache / "hooks" / norm.key).glob("*.ts"))
    thumbs = [PILImage.open(w.with_suffix(".jpg")) for w in windows]
    assert len(windows) == 3 and all(t.width <= THUMB_SIZE[0] and t.height <= THUMB_SIZE[1] for t in thumbs)
    assert len({t.tobytes() for t in thumbs}) == 3  # each shows its own hook
    assert prepare_hook_windows(norm, [(h, opts) for h in hooks], cache) == 0  # all cached now
    twice = tmp_path / "twice"  # two workers preparing the same siblings at once: each window made once
    norm2 = normalize_video(silent_vertical_src, "crop", twice)
    counts: list[int] = []
    workers = [threading.Thread(target=lambda: counts.append(prepare_hook_windows(norm2, [(h, opts) for h in hooks],
                                                                                   twice))) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(counts) == [0, 3] and len(list((twice / "hooks" / norm2.key).glob("*.ts"))) == 3
    alone = tmp_path / "alone"
    for i, text in enumerate(hooks):
        res = render_variant(silent_vertical_src, None, text, opts, tmp_path / f"t{i}.mp4", cache)
        ref = render_variant(silent_vertical_src, None, text, opts, tmp_path / f"a{i}.mp4", alone)
        assert res.render_path == ref.render_path == "fast"
        assert res.reencoded_s == 0 and ref.reencoded_s > 0  # cached by the run of all three
        assert decode_warnings(res.path) == ""
        assert framemd5(str(res.path)) == framemd5(str(ref.path))
