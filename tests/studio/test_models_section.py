"""Settings > Models: the handlers a creator drives (details first, the licence tick, the download with
its checks), against a loopback model host serving a small generated model (tests/fakes/onnx_models.py)."""

from __future__ import annotations

import dataclasses

import pytest

from media import model_store
from media.face import onnx_models
from media.settings import reset_settings
from studio import models_section
from tests.fakes.onnx_models import arcface_model, model_host, sha256

NAME = "arcface_w600k_r50"


@pytest.fixture
def host(fresh_data_dir, monkeypatch):
    data = arcface_model()
    monkeypatch.setitem(model_store.CATALOG, NAME, dataclasses.replace(
        model_store.CATALOG[NAME], size_bytes=len(data), sha256=sha256(data)))
    onnx_models.SESSIONS.clear()
    with model_host({model_store.CATALOG[NAME].file_name: data}) as (url, requested):
        monkeypatch.setenv("NOVAI_MODEL_MIRROR_URL", url)
        reset_settings()
        yield url, requested
    reset_settings()
    onnx_models.SESSIONS.clear()


def _status(rows, name: str) -> str:
    return next(row for row in rows if row[0] == name)[models_section.MODEL_HEADERS.index("Status")]


def test_details_name_size_licence_and_source_before_anything_is_fetched(host):
    url, requested = host
    details = models_section.model_details(NAME)
    spec = model_store.CATALOG[NAME]
    for shown in (spec.title, f"{spec.size_bytes / 1e6:.0f} MB", spec.licence, f"{url.rstrip('/')}/{spec.file_name}",
                  spec.sha256, "not downloaded"):
        assert shown in details
    assert requested == [] and not model_store.is_downloaded(NAME)


def test_download_needs_the_tick_then_fetches_and_verifies(host):
    _, requested = host
    table, details = models_section.download(NAME, False, progress=lambda *a, **k: None)
    assert table == {"__type__": "update"}  # the table is left as it is, not marked "Error"
    assert "tick 'I accept the licence'" in details and requested == []
    assert not model_store.is_downloaded(NAME)
    table, details = models_section.download(NAME, True, progress=lambda *a, **k: None)
    assert "downloaded and its SHA-256 checked" in details and "· downloaded" in details
    assert _status(table, NAME) == "downloaded" and _status(table, "gfpgan_1.4") == "not downloaded"
    assert model_store.is_downloaded(NAME) and len(requested) == 1


def test_a_wrong_checksum_is_shown_and_nothing_kept(host, monkeypatch):
    monkeypatch.setitem(model_store.CATALOG, NAME, dataclasses.replace(model_store.CATALOG[NAME], sha256="0" * 64))
    table, details = models_section.download(NAME, True, progress=lambda *a, **k: None)
    assert table == {"__type__": "update"}
    assert "does not match the pinned" in details and "not downloaded" in details
    assert not model_store.is_downloaded(NAME)
    assert not any(model_store.model_path(NAME).parent.glob("*.part"))
