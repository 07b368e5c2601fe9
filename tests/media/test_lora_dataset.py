"""LoRA datasets from the real sample photos: validation, EXIF, face-aware crops, captions, ZIP, duplicates."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jobs.lora_api import build_lora_dataset, build_lora_dataset_from_files
from media import lora_catalog as catalog
from media.db import session_scope
from media.face.landmarks import detect_faces
from media.lora_dataset import ImageRejected, caption_for, crop_box, load_image
from media.models import Image as ImageRow
from media.store import abs_path, media_root

PHOTOS = ("obama.jpg", "biden_portrait.jpg", "lin-manuel-miranda.png", "astronaut.png")


def _library_images(samples: Path) -> list[str]:
    """Put the sample photos into the library as ``images`` rows (files copied into the media folder)."""
    ids = []
    folder = media_root() / "images"
    folder.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        for name in PHOTOS:
            shutil.copyfile(samples / "photos" / name, folder / name)
            row = ImageRow(name=name, file=f"images/{name}")
            session.add(row)
            ids.append(row.id)
    return ids


def _zip_members(zip_rel: str) -> dict[str, bytes]:
    with zipfile.ZipFile(abs_path(zip_rel)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_dataset_from_sample_photos(fresh_data_dir, samples: Path) -> None:
    ids = _library_images(samples)
    result = build_lora_dataset(ids, "zxq person", {"name": "Samples"})

    assert result["count"] == 4
    assert result["warnings"][0].startswith("only 4 image(s): LoRA trainers ask for at least 10")
    members = _zip_members(result["zip_file"])
    images = sorted(n for n in members if n.endswith(".jpg"))
    captions = sorted(n for n in members if n.endswith(".txt"))
    assert len(images) == 4 and [Path(n).stem for n in images] == [Path(n).stem for n in captions]
    assert images[0] == "001_obama.jpg"
    for name in captions:
        assert members[name].decode() == "a photo of zxq person\n"
    sizes = {}
    for name in images:
        image = Image.open(io.BytesIO(members[name])).convert("RGB")
        sizes[name] = image.size
        assert image.width == image.height  # square crop
        faces = detect_faces(np.asarray(image))
        assert faces, f"the crop of {name} lost the face"
        cx, cy = faces[0].center
        assert 0.2 * image.width < cx < 0.8 * image.width and 0.1 * image.height < cy < 0.9 * image.height
    assert sizes["002_biden_portrait.jpg"] == (1024, 1024)  # 1200 px downscaled to the resolution
    assert sizes["001_obama.jpg"] == (910, 910)  # never upscaled ...
    assert any("obama.jpg: 910 px after cropping, below the 1024 px" in w for w in result["warnings"])
    dataset = catalog.get_dataset(result["dataset_id"])
    assert dataset.trigger_word == "zxq person" and all(item["faces"] >= 1 for item in dataset.items)
    assert abs_path(dataset.thumbnail).is_file()


def test_obama_crop_is_centred_on_the_face() -> None:
    # obama.jpg is 910x1137 (portrait): the square keeps the full width and moves up to the face.
    assert crop_box(910, 1137, "square", (455.0, 300.0)) == (0, 0, 910, 910)
    assert crop_box(910, 1137, "square", (455.0, 800.0)) == (0, 227, 910, 1137)
    assert crop_box(2000, 1000, "square", (1500.0, 500.0)) == (1000, 0, 2000, 1000)
    assert crop_box(2000, 1000, "square", None) == (500, 0, 1500, 1000)
    assert crop_box(2000, 1000, "keep", (1.0, 1.0)) == (0, 0, 2000, 1000)


def test_keep_aspect_mode(fresh_data_dir, samples: Path) -> None:
    result = build_lora_dataset_from_files([samples / "photos" / "obama.jpg"], "ohwx",
                                           {"crop": "keep", "resolution": 512})
    members = _zip_members(result["zip_file"])
    image = Image.open(io.BytesIO(members["001_obama.jpg"]))
    assert image.size == (410, 512)  # 910x1137 scaled so the long side is 512


def _bomb_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def test_bad_files_get_one_message_each(fresh_data_dir, samples: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes((samples / "photos" / "obama.jpg").read_bytes()[:20000])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png())
    good = samples / "photos" / "biden_portrait.jpg"

    result = build_lora_dataset_from_files([text, truncated, bomb, good], "ohwx")
    assert result["count"] == 1
    warnings = "\n".join(result["warnings"])
    assert "notes.jpg: not an image" in warnings
    assert "cut.jpg: corrupt or truncated image" in warnings
    assert "bomb.png:" in warnings and "decompression bomb" in warnings

    with pytest.raises(ValueError, match="no usable image.*notes.jpg: not an image"):
        build_lora_dataset_from_files([text], "ohwx")


def test_exif_orientation_is_applied(fresh_data_dir, samples: Path, tmp_path: Path) -> None:
    upright = Image.open(samples / "photos" / "biden_portrait.jpg").convert("RGB").resize((600, 400))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # pixels stored sideways (400x600) ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with "rotate 90 CW to display" (EXIF Orientation 6)
    path = tmp_path / "sideways.jpg"
    stored.save(path, "JPEG", exif=exif.tobytes())

    loaded = load_image(path, 10**8)
    assert loaded.size == (600, 400)
    assert np.abs(np.asarray(loaded, dtype=int) - np.asarray(upright, dtype=int)).mean() < 8


def test_no_face_and_near_duplicates_are_flagged(fresh_data_dir, samples: Path, tmp_path: Path) -> None:
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    plain = tmp_path / "wall.png"
    Image.fromarray(np.dstack([gradient] * 3)).save(plain)
    copy = tmp_path / "obama_copy.jpg"
    Image.open(samples / "photos" / "obama.jpg").resize((800, 1000)).save(copy, "JPEG", quality=70)
    paths = [samples / "photos" / "obama.jpg", copy, plain]

    result = build_lora_dataset_from_files(paths, "ohwx")
    warnings = "\n".join(result["warnings"])
    assert result["count"] == 3
    assert "wall.png: no face found" in warnings
    assert "obama_copy.jpg: near-duplicate of obama.jpg" in warnings

    skipped = build_lora_dataset_from_files(paths, "ohwx", {"skip_duplicates": True})
    assert skipped["count"] == 2

    style = build_lora_dataset_from_files([plain], "ohwx", {"is_person": False})
    assert not any("no face" in w for w in style["warnings"])


def test_captions_are_editable_and_rebuild_the_zip(fresh_data_dir, samples: Path) -> None:
    result = build_lora_dataset_from_files([samples / "photos" / "astronaut.png"], "ohwx",
                                           {"caption_template": "[trigger] wearing a spacesuit"})
    assert _zip_members(result["zip_file"])["001_astronaut.txt"] == b"ohwx wearing a spacesuit\n"
    catalog.update_captions(result["dataset_id"], {"001_astronaut.jpg": "ohwx smiling, american flag behind"})
    assert _zip_members(result["zip_file"])["001_astronaut.txt"] == b"ohwx smiling, american flag behind\n"
    folder = abs_path(catalog.get_dataset(result["dataset_id"]).folder)
    assert (folder / "001_astronaut.txt").read_text() == "ohwx smiling, american flag behind\n"
    with pytest.raises(ValueError, match="no image named nope.jpg"):
        catalog.update_captions(result["dataset_id"], {"nope.jpg": "x"})


def test_caption_template_and_options_validation(fresh_data_dir, samples: Path) -> None:
    assert caption_for("portrait of [trigger], [trigger] smiling", "ohwx") == "portrait of ohwx, ohwx smiling"
    assert caption_for("a portrait", "ohwx") == "ohwx, a portrait"
    with pytest.raises(ValueError, match="unknown dataset option"):
        build_lora_dataset_from_files([samples / "photos" / "astronaut.png"], "ohwx", {"rezolution": 5})
    with pytest.raises(ValueError, match="resolution must be"):
        build_lora_dataset_from_files([samples / "photos" / "astronaut.png"], "ohwx", {"resolution": 10})
    with pytest.raises(LookupError, match="no library image or character diagram with id nope"):
        build_lora_dataset(["nope"], "ohwx")
    with pytest.raises(ImageRejected):
        load_image(samples / "SOURCES.md", 10**8)


def test_character_diagrams_are_dataset_sources(fresh_data_dir, samples: Path) -> None:
    from media.models import CharacterDiagram

    ids = _library_images(samples)
    with session_scope() as session:
        diagram = CharacterDiagram(name="Astronaut sheet", image_id=ids[3], status="ready")
        session.add(diagram)
    assert ("diagram: Astronaut sheet", diagram.id) in catalog.dataset_source_choices()
    result = build_lora_dataset([diagram.id, ids[1]], "")  # empty trigger word -> the default rare token
    dataset = catalog.get_dataset(result["dataset_id"])
    assert result["trigger_word"] == "ohwx"
    assert [item["source_image_id"] for item in dataset.items] == [ids[3], ids[1]]
