"""Batch rows: planning, status, naming, manifest + ZIP, keep, and 24 h expiry."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from datetime import timedelta

import pytest

from media import batches, hooks, library, store
from media.assignment import assign
from media.models import utcnow


@pytest.fixture
def planned(fresh_data_dir, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    hook_rows = hooks.add_hooks("C'est très simple : ça marche à 100 %\nWhere's C:\\Users\\file?")
    combos = assign([video], [audio], [h.id for h in hook_rows], variants_per_video=2)
    return batches.create_batch(combos, {"fit": "blur"}), video, samples


def _finish(variant, samples):
    """Stand in for the renderer: a real MP4 placed where the task puts its output."""
    dest = store.media_root() / "variants" / variant.batch_id / variant.file_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(samples / "videos" / "retalking_face_2.mp4", dest)
    row = library.register_file(dest, "video", variant.file_name, type="variant", batch_id=variant.batch_id)
    batches.update_variant(variant.id, status="completed", output_video_id=row.id, render_path="fast")
    return row


def test_file_names_are_safe_and_name_source_audio_hook_index():
    name = batches.variant_file_name(7, "My Clip (final).mp4", "song ♪.wav", "Où est C:\\Users? 100%")
    assert name == "007_My_Clip_final_song_Ou_est_C_Users_100.mp4"
    assert batches.variant_file_name(0, "v.mp4", None, None) == "000_v_orig_nohook.mp4"


def test_batch_zip_is_named_after_the_batch_date_and_name(fresh_data_dir, samples):
    from jobs.variant_tasks import _build_zip

    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    combos = assign([video], [], [], variants_per_video=1)
    batch = batches.create_batch(combos, {"fit": "blur"}, name="Été promo / week 2")
    _finish(batches.batch_variants(batch.id)[0], samples)
    out = _build_zip(batch.id)
    stamp = batch.created_at.strftime("%Y-%m-%d_%H%M")
    assert out["zip"] == f"zips/{batch.id}/{stamp}_Ete_promo_week_2.zip" and out["videos"] == 1
    assert store.abs_path(out["zip"]).is_file()
    unnamed = batches.create_batch(combos, {"fit": "blur"})
    assert batches.zip_rel_path(unnamed).endswith(f"/{unnamed.created_at:%Y-%m-%d_%H%M}_batch.zip")
    assert batches.expire_batch(batch.id) >= 0 and not (store.media_root() / "zips" / batch.id).exists()


@pytest.mark.parametrize("counts, status", [
    ({}, "queued"), ({"processing": 1}, "running"), ({"completed": 1}, "running"),
    ({"completed": 3}, "completed"), ({"failed": 3}, "failed"),
    ({"completed": 2, "failed": 1}, "completed_with_errors"),
    ({"completed": 2, "canceled": 1}, "completed"),  # a canceled variant is not an error (issue 10)
])
def test_status_derivation(counts, status):
    assert batches.derive_status(Counter(counts), 3) == status
    assert batches.derive_status(Counter(counts), 3, expired=True) == "expired"


def test_status_results_manifest_and_zip(planned, tmp_path):
    batch, video, samples = planned
    first, second = batches.batch_variants(batch.id)
    assert batches.batch_status(batch.id)["status"] == "queued"
    _finish(first, samples)
    batches.update_variant(second.id, status="failed", error="boom")
    status = batches.batch_status(batch.id)
    assert (status["status"], status["done"], status["failed"]) == ("completed_with_errors", 1, 1)
    results = batches.batch_results(batch.id)
    assert [r["status"] for r in results] == ["completed", "failed"] and results[1]["error"] == "boom"
    dest = tmp_path / "b.zip"
    assert batches.write_zip(batch.id, dest) == 1
    with zipfile.ZipFile(dest) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert sorted(archive.namelist()) == sorted([first.file_name, "manifest.json"])
    entry = manifest["files"][first.file_name]
    assert entry["video"]["id"] == video and entry["hook"]["text"].startswith("C'est")
    assert entry["options"] == {"fit": "blur"}


def test_expiry_deletes_files_and_rows_but_keeps_kept_variants(planned):
    batch, _, samples = planned
    first, second = batches.batch_variants(batch.id)
    kept_row = _finish(first, samples)
    gone_row = _finish(second, samples)
    kept_id = batches.keep_variant(first.id)
    assert kept_id == kept_row.id
    assert batches.expired_batch_ids() == []
    assert batches.expired_batch_ids(utcnow() + timedelta(hours=24, minutes=1)) == [batch.id]
    assert batches.expire_batch(batch.id) == 1
    assert batches.batch_status(batch.id)["status"] == "expired"
    assert batches.batch_variants(batch.id) == []
    kept = library.get_item("video", kept_id)
    assert store.abs_path(kept.file).exists() and kept.file.startswith("videos/")
    assert kept_id in [v.id for v in library.list_items("video")]
    with pytest.raises(library.LibraryError):
        library.get_item("video", gone_row.id)
    assert not (store.media_root() / "variants" / batch.id).exists()


def test_unknown_ids_are_refused(fresh_data_dir):
    with pytest.raises(batches.BatchError):
        batches.batch_status("nope")
    combos = assign(["missing"], [], [], 1)
    with pytest.raises(batches.BatchError, match="unknown video"):
        batches.create_batch(combos, {})


def test_sibling_hooks_are_the_unfinished_variants_of_the_same_source(planned):
    batch, video, samples = planned
    other = library.import_file(samples / "videos" / "liveportrait_d13.mp4", "video").id
    more = batches.create_batch(assign([video, other], [], [h.id for h in hooks.add_hooks("A\nB")],
                                       variants_per_video=2), {"fit": "crop", "hook_duration_s": 2})
    mine = [v for v in batches.batch_variants(more.id) if v.video_id == video]
    assert len(mine) == 2
    found = batches.sibling_hooks(mine[0].id)
    assert sorted(text for text, _ in found) == sorted(batches.get_variant(v.id).snapshot["hook"] for v in mine)
    assert all(opts["fit"] == "crop" and opts["hook_duration_s"] == 2 for _, opts in found)
    batches.update_variant(mine[1].id, status="completed")
    assert len(batches.sibling_hooks(mine[0].id)) == 1  # finished ones are left out
    assert len(batches.sibling_hooks(batches.batch_variants(batch.id)[0].id)) == 2  # the other batch's own
