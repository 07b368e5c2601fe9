"""Shared fixtures of the face-swap tests: a source face and a target face from the sample photos."""

from __future__ import annotations

import pytest

from media.face.landmarks import detect_faces, load_rgb


@pytest.fixture(scope="module")
def obama(samples):
    """obama.jpg as (RGB array, its largest detected face)."""
    rgb = load_rgb(samples / "photos" / "obama.jpg")
    return rgb, detect_faces(rgb)[0]


@pytest.fixture(scope="module")
def target(samples):
    """biden_portrait.jpg as (RGB array, its face's landmarks)."""
    rgb = load_rgb(samples / "photos" / "biden_portrait.jpg")
    return rgb, detect_faces(rgb)[0].landmarks
