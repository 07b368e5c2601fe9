"""Names from uploads never reach a filesystem path unsanitised (media/store.py)."""

from __future__ import annotations

import re

import pytest

from media import store

HOSTILE = [
    "../../etc/passwd", "..", ".", "", "/absolute/path/video.mp4", "a/b\\c d.mp4", "nul\0byte.mp4",
    "~/.ssh/id_rsa", "été à la plage.MOV", "фильм.mp4", "视频.mp4", "clip.mp4/../../x", "-rf .mp4",
    "x" * 500 + ".mp4", "video.mp4\n.sh", "$(rm -rf ~).mp4", "..\\..\\windows\\system32.dll",
    "name.with.many.dots.tar.gz", "   .mp4", "emoji 🎬.mp4",
]
SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_name_is_plain_ascii_and_never_a_path(name):
    cleaned = store.safe_name(name)
    assert SAFE.match(cleaned), cleaned
    assert cleaned not in (".", "..") and "/" not in cleaned and "\\" not in cleaned
    assert len(cleaned) <= 60


@pytest.mark.parametrize("name", HOSTILE)
def test_new_file_path_stays_in_its_folder(fresh_data_dir, name):
    path = store.new_file_path("videos", name)
    folder = (fresh_data_dir / "media" / "videos").resolve()
    assert path.parent == folder
    assert SAFE.match(path.name), path.name
    assert store.abs_path(store.rel_path(path)) == path


def test_accents_are_folded_and_extension_lowered(fresh_data_dir):
    path = store.new_file_path("videos", "Été à la plage.MOV")
    assert re.fullmatch(r"[0-9a-f]{8}_Ete_a_la_plage\.mov", path.name)
    assert store.new_file_path("audio", "song", ".../m4a").suffix == ".m4a"


def test_two_uploads_with_the_same_name_get_different_paths(fresh_data_dir):
    assert store.new_file_path("images", "face.png") != store.new_file_path("images", "face.png")


@pytest.mark.parametrize("rel", ["../catalog.sqlite3", "/etc/passwd", "videos/../../keys.json", ""])
def test_abs_path_refuses_to_leave_the_media_folder(fresh_data_dir, rel):
    with pytest.raises(store.StoreError):
        store.abs_path(rel)


def test_library_import_with_a_hostile_upload_name_stays_in_the_media_folder(fresh_data_dir, samples):
    from media import library
    from media.db import session_scope
    from media.models import Image

    photo = next(p for p in sorted((samples / "photos").iterdir()) if p.suffix.lower() in (".jpg", ".png"))
    outcome = library.import_file(photo, "image", name=f"../../../../etc/evil name{photo.suffix}")
    assert outcome.error is None, outcome.error
    with session_scope() as session:
        row = session.get(Image, outcome.id)
    for rel in (row.file, row.thumbnail):
        path = store.abs_path(rel)
        assert path.is_file()
        assert SAFE.match(path.name), path.name
        assert path.parent.parent == (fresh_data_dir / "media").resolve()
    assert not (fresh_data_dir.parent / "etc").exists()


def test_variant_file_names_from_hooks_and_names_are_safe():
    from media.batches import variant_file_name

    name = variant_file_name(7, "../../x/vid éo.mp4", "a/b/../song.m4a", "POV: you /rm -rf ~ 🎬")
    assert SAFE.match(name) and name.startswith("007_") and name.endswith(".mp4")


@pytest.mark.parametrize("text, expected", [
    ("视频", "ShiPin"), ("фильм", "fil_m"), ("أفضل ثلاث نصائح", "fdl_thlth_nsi_h"), ("コーヒー", "kohi"),
    ("🎬", "clapper"),
])
def test_non_latin_names_are_transliterated_not_dropped(text, expected):
    assert store.safe_name(text) == expected


def test_variant_file_name_of_a_japanese_hook_has_a_readable_slug():
    from media.batches import variant_file_name

    name = variant_file_name(0, "今日.mp4", None, "今日から始める、ショート動画のコツ3選 🇯🇵")
    assert SAFE.match(name), name
    source, hook = name.removesuffix(".mp4").split("_orig_")
    assert source == "000_JinRi"
    assert hook.startswith("JinRikaraShimeru") and len(re.sub(r"[^A-Za-z]", "", hook)) >= 15, hook
