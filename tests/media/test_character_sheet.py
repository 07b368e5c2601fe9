"""The offline sheet's parts: face alignment, palette sampling, layout and fonts, image checks."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from PIL import Image

from media.characters.align import align_face, eye_centers
from media.characters.images import ImageFileError, check_image_bytes
from media.characters.palette import CHIN, FOREHEAD_TOP, face_palette
from media.characters.sheet import BACKGROUND, SHEET_SIZE, _font_file, compose_sheet
from media.face.landmarks import detect_faces, load_rgb


@pytest.fixture(scope="module")
def obama(samples):
    rgb = load_rgb(samples / "photos" / "obama.jpg")
    return rgb, detect_faces(rgb)[0]


def _roll(landmarks: np.ndarray) -> float:
    left, right = eye_centers(landmarks)
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def test_align_levels_a_tilted_face(samples):
    photo = Image.open(samples / "photos" / "biden_portrait.jpg").convert("RGB")
    tilted = np.asarray(photo.rotate(25, resample=Image.Resampling.BICUBIC, fillcolor=(128, 128, 128)))
    face = detect_faces(tilted)[0]
    assert abs(_roll(face.landmarks)) > 15  # the photo really is tilted
    closeup = align_face(Image.fromarray(tilted), face.landmarks, size=384)
    assert closeup.image.size == (384, 384) and abs(abs(closeup.angle_deg) - 25) < 8
    [again] = detect_faces(np.asarray(closeup.image))[:1]
    assert abs(_roll(again.landmarks)) < 4
    cx, cy = again.center
    assert abs(cx - 192) < 60 and abs(cy - 192) < 80  # face centred
    assert again.box[2] > 384 / 3  # and enlarged


def test_palette_samples_the_right_regions(obama):
    rgb, face = obama
    painted = rgb.copy()
    lm = face.landmarks
    top, chin = lm[FOREHEAD_TOP], lm[CHIN]
    w, h, cx = np.ptp(lm[:, 0]), chin[1] - top[1], lm[:, 0].mean()
    painted[int(top[1] - 0.3 * h):int(top[1] - 0.03 * h), int(cx - 0.3 * w):int(cx + 0.3 * w)] = (20, 200, 30)
    painted[int(chin[1] + 0.4 * h):int(chin[1] + 1.5 * h), int(cx - 0.8 * w):int(cx + 0.8 * w)] = (30, 40, 220)
    skin, hair, clothing = face_palette(painted, lm)
    assert (skin.label, hair.label, clothing.label) == ("skin", "hair", "clothing")
    assert np.abs(np.subtract(hair.rgb, (20, 200, 30))).max() < 12
    assert np.abs(np.subtract(clothing.rgb, (30, 40, 220))).max() < 12
    r, g, b = skin.rgb
    assert r > g > b and r > 120  # a skin tone, not the paint


def test_palette_says_not_visible_when_the_photo_ends_at_the_chin(obama):
    rgb, face = obama
    cut = int(face.landmarks[CHIN][1] + 10)
    *_, clothing = face_palette(np.ascontiguousarray(rgb[:cut]), face.landmarks)
    assert clothing.rgb is None and clothing.hex == "not visible"


@pytest.mark.parametrize("name", ["Ada Lovelace", "山田 花子", "ليلى"])
def test_sheet_draws_names_in_their_script(obama, name):
    rgb, face = obama
    photo = Image.fromarray(rgb)
    closeup = align_face(photo, face.landmarks)
    sheet = compose_sheet(photo, closeup.image, face_palette(rgb, face.landmarks), name, date(2026, 3, 4),
                          notes="Denim jacket.")
    assert sheet.size == SHEET_SIZE and _font_file(name) is not None
    header = np.asarray(sheet.crop((60, 30, 700, 100)))
    assert (np.abs(header.astype(int) - BACKGROUND).sum(axis=2) > 200).sum() > 200  # ink was drawn


def test_check_image_bytes_refuses_non_images():
    with pytest.raises(ImageFileError, match="not an image: answer"):
        check_image_bytes(b"%PDF-1.7 not an image", "answer")
    with pytest.raises(ImageFileError, match="empty"):
        check_image_bytes(b"", "answer")
