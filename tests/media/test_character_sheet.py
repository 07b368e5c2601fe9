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
    shoulders = slice(int(chin[1] + 0.15 * h), int(chin[1] + 1.3 * h))  # both sides of the neck
    painted[shoulders, int(cx - 1.1 * w):int(cx - 0.5 * w)] = (30, 40, 220)
    painted[shoulders, int(cx + 0.5 * w):int(cx + 1.1 * w)] = (30, 40, 220)
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


@pytest.mark.parametrize("photo_name", ["lin-manuel-miranda.png", "obama.jpg", "astronaut.png"])
def test_closeup_is_a_real_close_up_with_clean_edges(samples, photo_name):
    from media.characters.align import FOREHEAD_TOP as TOP

    rgb = load_rgb(samples / "photos" / photo_name)
    [face] = detect_faces(rgb, max_faces=1)
    closeup = align_face(Image.fromarray(rgb), face.landmarks, size=512)
    # the crop's four corners lie inside the photo: nothing filled in, no slanted border
    theta = math.radians(closeup.angle_deg)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    half = closeup.side_px / 2
    corners = [np.asarray(closeup.center) + rot @ np.array([sx * half, sy * half])
               for sx in (-1, 1) for sy in (-1, 1)]
    height, width = rgb.shape[:2]
    assert all(0 <= x <= width and 0 <= y <= height for x, y in corners), corners
    # the face fills most of it (the photo-like old crop: 55 % of the height, forehead top to chin)
    [again] = detect_faces(np.asarray(closeup.image), max_faces=1)
    face_h = again.landmarks[CHIN][1] - again.landmarks[TOP][1]
    assert face_h > 0.65 * 512, face_h
    assert again.landmarks[CHIN][1] < 512 - 5  # the chin is not cut


def test_a_dark_suit_is_measured_as_clothing(samples):
    rgb = load_rgb(samples / "photos" / "lin-manuel-miranda.png")  # the photo ends soon below the chin
    [face] = detect_faces(rgb, max_faces=1)
    *_, clothing = face_palette(rgb, face.landmarks)
    assert clothing.rgb is not None and max(clothing.rgb) < 90, clothing  # dark grey suit


def test_sheet_leaves_out_a_swatch_the_photo_does_not_show(obama):
    from media.characters.palette import Swatch
    from media.characters.sheet import PALETTE_BOX

    rgb, face = obama
    photo = Image.fromarray(rgb)
    closeup = align_face(photo, face.landmarks).image
    swatches = [Swatch("skin", (200, 150, 120)), Swatch("hair", None), Swatch("clothing", (20, 30, 200))]
    sheet = np.asarray(compose_sheet(photo, closeup, swatches, "Ada", date(2026, 3, 4)))
    x, y, w, _ = PALETTE_BOX
    second = sheet[y + 250 + 85, x + w // 2]
    assert np.abs(second.astype(int) - (20, 30, 200)).max() < 4  # clothing moved up into the second slot
    third = sheet[y + 500 + 85, x + w // 2]
    assert tuple(third) == BACKGROUND
