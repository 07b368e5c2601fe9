"""Library imports validate by content and store nothing on refusal; deletes are safe."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from media import collections as colls
from media import job_store, library, store


def _stored_files() -> set[str]:
    root = store.media_root()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_video_import_probes_and_thumbnails(fresh_data_dir, samples):
    outcome = library.import_file(samples / "videos" / "short_hamilton_clip.mp4", "video", "stage")
    assert outcome.error is None
    row = library.get_item("video", outcome.id)
    assert (row.width, row.height, row.has_audio) == (640, 360, True)
    assert 9.0 < row.duration_s < 9.4  # the video stream's duration (SOURCES.md: 9.18 s)
    assert store.abs_path(row.file).stat().st_size == row.size_bytes == 613928
    with Image.open(store.abs_path(row.thumbnail)) as thumb:
        assert max(thumb.size) <= 320
    assert [c.name for c in colls.list_collections("video")] == ["stage"]


def test_audio_and_image_imports(fresh_data_dir, samples):
    audio = library.import_file(samples / "audio" / "pydub_format_test.m4a", "audio")
    image = library.import_file(samples / "photos" / "lin-manuel-miranda.png", "image")
    assert audio.error is None and image.error is None
    assert library.get_item("audio", audio.id).sample_rate == 44100
    assert (library.get_item("image", image.id).width, library.get_item("image", image.id).height) == (704, 612)


@pytest.mark.parametrize("kind, maker, reason", [
    ("video", lambda p, s: p.write_text("just text, renamed"), "not a readable media file"),
    ("video", lambda p, s: p.write_bytes((s / "videos" / "liveportrait_s18.mp4").read_bytes()[:330_000]),
     "truncated"),
    ("video", lambda p, s: shutil.copy(s / "audio" / "sms_sax-phrase.wav", p), "no video stream"),
    ("audio", lambda p, s: shutil.copy(s / "videos" / "liveportrait_d13.mp4", p), "no audio stream"),
    ("image", lambda p, s: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "not a valid image"),
    ("video", lambda p, s: p.write_bytes(b""), "empty file"),
])
def test_bad_uploads_are_refused_by_name_and_nothing_is_stored(fresh_data_dir, samples, tmp_path, kind,
                                                               maker, reason):
    bad = tmp_path / "upload_item.mp4"
    maker(bad, samples)
    before = _stored_files()
    outcome = library.import_file(bad, kind)
    assert outcome.id is None
    assert reason in outcome.error and "upload_item.mp4" in outcome.error
    assert _stored_files() == before
    assert library.list_items(kind) == []


def test_decompression_bomb_is_refused(fresh_data_dir, tmp_path):
    bomb = tmp_path / "huge.png"
    Image.new("1", (9000, 9000)).save(bomb)  # 81 MP, tiny file
    outcome = library.import_file(bomb, "image")
    assert outcome.id is None and "too large" in outcome.error


def test_rename_move_and_delete(fresh_data_dir, samples):
    item = library.import_file(samples / "photos" / "astronaut.png", "image").id
    library.rename_item("image", item, "Eileen")
    library.move_item("image", item, "faces")
    row = library.get_item("image", item)
    assert row.name == "Eileen" and row.collection_id == colls.list_collections("image")[0].id
    files = [row.file, row.thumbnail]
    library.delete_item("image", item)
    assert library.list_items("image") == []
    assert not any(store.abs_path(f).exists() for f in files)


def test_delete_is_refused_while_a_running_job_uses_the_item(fresh_data_dir, samples):
    item = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    job = job_store.create_job("variant", {"audio_id": item})
    job_store.start_job(job.id)
    with pytest.raises(library.LibraryError, match="running job"):
        library.delete_item("audio", item)
    assert library.get_item("audio", item).id == item
    job_store.complete_job(job.id)
    library.delete_item("audio", item)
    assert library.list_items("audio") == []


def test_collection_delete_keeps_items(fresh_data_dir, samples):
    item = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio", "voices").id
    coll = colls.list_collections("audio")[0]
    colls.rename_collection(coll.id, "speech")
    assert colls.list_collections("audio")[0].name == "speech"
    assert colls.delete_collection(coll.id) == 1
    assert library.get_item("audio", item).collection_id is None
    with pytest.raises(colls.CollectionError, match="empty"):
        colls.find_or_create_collection("  ", "audio")


def test_deleting_a_character_image_deletes_the_character(fresh_data_dir, samples):
    from media.characters.catalog import import_diagram, list_diagrams

    diagram = import_diagram(samples / "photos" / "astronaut.png", "Eileen")
    image = next(row for row in library.list_items("image") if row.character_diagram_id == diagram.id)
    library.delete_item("image", image.id)
    assert list_diagrams() == []
    assert library.list_items("image") == []


def test_delete_can_be_undone_and_the_trash_is_purged_later(fresh_data_dir, samples):
    item = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video", "clips").id
    before = library.get_item("video", item)
    library.delete_item("video", item)
    assert library.list_items("video") == []
    assert not store.abs_path(before.file).exists()
    kind, name = library.restore_item(item)
    assert (kind, name) == ("video", "retalking_face_2.mp4")
    after = library.get_item("video", item)
    assert after.model_dump() == before.model_dump()
    assert store.abs_path(after.file).stat().st_size == 478552 and store.abs_path(after.thumbnail).exists()
    with pytest.raises(library.LibraryError, match="nothing to restore"):
        library.restore_item(item)
    library.delete_item("video", item)
    assert library.purge_trash(max_age_s=3600) == 0
    assert library.purge_trash(max_age_s=-1) == 1
    with pytest.raises(library.LibraryError, match="nothing to restore"):
        library.restore_item(item)
