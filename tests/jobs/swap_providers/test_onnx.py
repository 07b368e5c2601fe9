"""The ``onnx`` engine and Settings > Models downloads, end to end against a loopback model host serving
small ONNX models generated here with the real models' input/output signatures (tests/fakes/onnx_models.py).

Download -> SHA-256 and size check -> stored under the data folder -> lazy onnxruntime session -> a swap
job's frames; a wrong checksum is refused and nothing kept; a missing model names itself and the
Settings button.
"""

from __future__ import annotations

import dataclasses

import av
import cv2
import numpy as np
import pytest

from jobs.swap_providers import load_provider
from jobs.swap_providers.base import SwapContext, SwapOptions, SwapRequest
from media import model_store
from media.errors import InvalidInput
from media.face import onnx_models
from media.face.landmarks import detect_faces
from media.face.mesh import FACE_OVAL
from media.settings import reset_settings
from tests.fakes.onnx_models import arcface_model, enhancer_model, model_host, sha256, swapper_model


@pytest.fixture
def generated(monkeypatch):
    """The generated models, with the catalog pinned to their sizes and checksums (the real entries'
    names, files, licences and signatures otherwise)."""
    files = {"inswapper_128_fp16": swapper_model(128), "hyperswap_1a_256": swapper_model(256, "hyperswap"),
             "arcface_w600k_r50": arcface_model(), "gfpgan_1.4": enhancer_model()}
    for name, data in files.items():
        monkeypatch.setitem(model_store.CATALOG, name, dataclasses.replace(
            model_store.CATALOG[name], size_bytes=len(data), sha256=sha256(data)))
    onnx_models.SESSIONS.clear()
    yield {model_store.CATALOG[name].file_name: data for name, data in files.items()}
    onnx_models.SESSIONS.clear()


@pytest.fixture
def host(generated, fresh_data_dir, monkeypatch):
    with model_host(generated) as (url, requested):
        monkeypatch.setenv("NOVAI_MODEL_MIRROR_URL", url)
        reset_settings()
        yield requested
    reset_settings()


def _download(*names: str) -> None:
    for name in names:
        model_store.download_model(name, accept_licence=True)


def test_download_verifies_and_stores_under_the_data_folder(host, fresh_data_dir):
    progress: list[tuple[int, int]] = []
    path = model_store.download_model("arcface_w600k_r50", accept_licence=True,
                                      progress=lambda done, total: progress.append((done, total)))
    spec = model_store.CATALOG["arcface_w600k_r50"]
    assert path == fresh_data_dir / "models" / "arcface_w600k_r50.onnx"
    assert sha256(path.read_bytes()) == spec.sha256
    assert progress[-1] == (spec.size_bytes, spec.size_bytes)
    assert host == ["/arcface_w600k_r50.onnx"]
    model_store.download_model("arcface_w600k_r50", accept_licence=True)  # already there: not fetched again
    assert len(host) == 1
    assert model_store.missing_models(["inswapper_128_fp16"]) == ["inswapper_128_fp16"]


def test_licence_must_be_accepted(host, fresh_data_dir):
    with pytest.raises(InvalidInput, match="accept the licence.*non-commercial"):
        model_store.download_model("inswapper_128_fp16", accept_licence=False)
    assert host == [] and not (fresh_data_dir / "models" / "inswapper_128_fp16.onnx").exists()


def test_wrong_checksum_is_refused_and_nothing_kept(host, fresh_data_dir, monkeypatch):
    spec = model_store.CATALOG["gfpgan_1.4"]
    monkeypatch.setitem(model_store.CATALOG, "gfpgan_1.4", dataclasses.replace(spec, sha256="0" * 64))
    with pytest.raises(model_store.ModelDownloadError, match="SHA-256 .* does not match"):
        model_store.download_model("gfpgan_1.4", accept_licence=True)
    assert [p.name for p in (fresh_data_dir / "models").iterdir() if not p.name.endswith(".lock")] == []
    assert not model_store.is_downloaded("gfpgan_1.4")


def test_http_error_is_refused(host, fresh_data_dir, monkeypatch):
    spec = model_store.CATALOG["gfpgan_1.4"]
    monkeypatch.setitem(model_store.CATALOG, "gfpgan_1.4", dataclasses.replace(spec, file_name="gone.onnx"))
    with pytest.raises(model_store.ModelDownloadError, match="HTTP 404"):
        model_store.download_model("gfpgan_1.4", accept_licence=True)
    assert not (fresh_data_dir / "models" / "gone.onnx").exists()


def test_missing_model_names_the_model_and_the_settings_button(fresh_data_dir):
    provider = load_provider("onnx")
    with pytest.raises(model_store.ModelMissing) as caught:
        provider.check(SwapOptions(swap_model="hyperswap_1a_256"))
    assert "hyperswap_1a_256" in str(caught.value) and "Settings > Models > Download" in str(caught.value)


def test_swap_job_refused_before_queueing_without_models(fresh_data_dir, samples):
    from jobs.runner import UserFacingError
    from jobs.swap_tasks import create_swap_job
    from media.library import import_file

    video = import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    image = import_file(samples / "photos" / "obama.jpg", "image").id
    with pytest.raises(UserFacingError, match="inswapper_128_fp16.*Settings > Models"):
        create_swap_job([video], image, "onnx", {})


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _outline(shape, landmarks, grow: int) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(FACE_OVAL)]).astype(np.int32)], 255)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1,) * 2)
    return cv2.dilate(mask, kernel) if grow > 0 else cv2.erode(mask, kernel)


@pytest.mark.parametrize("model", ["inswapper_128_fp16", "hyperswap_1a_256"])
def test_onnx_swap_end_to_end(host, swap_clip, samples, tmp_path, model):
    _download(model, "arcface_w600k_r50")
    out = tmp_path / "out.mp4"
    request = SwapRequest(swap_clip, samples / "photos" / "obama.jpg", out,
                          SwapOptions(swap_model=model, ai_label=False), job_id="job-onnx-1")
    result = load_provider("onnx").swap(request, SwapContext(progress=lambda p, m: None))
    assert result.frames_swapped > 0
    before, after = _frames(swap_clip), _frames(out)
    assert len(before) == len(after)
    landmarks = detect_faces(before[0])[0].landmarks
    diff = np.abs(before[0].astype(np.int16) - after[0].astype(np.int16)).mean(axis=2)
    # The generated model inverts the crop's colours: the face changes a lot, the rest stays.
    assert diff[_outline(before[0].shape, landmarks, -10) > 0].mean() > 40
    far = _outline(before[0].shape, landmarks, 60) == 0
    assert diff[far].mean() < 2.5
    with av.open(str(out)) as container:
        assert container.metadata.get("description") == "AI-generated: face swap (job job-onnx-1)"


def test_enhancer_with_the_local_engine_changes_only_the_face(host, swap_clip, samples, tmp_path):
    _download("gfpgan_1.4")
    outputs = {}
    for enhancer in ("", "gfpgan_1.4"):
        out = tmp_path / f"out{enhancer}.mp4"
        request = SwapRequest(swap_clip, samples / "photos" / "obama.jpg", out,
                              SwapOptions(enhancer=enhancer, enhancer_blend=1.0, ai_label=False))
        load_provider("local").swap(request, SwapContext(progress=lambda p, m: None))
        outputs[enhancer] = _frames(out)[0]
    plain, enhanced = outputs[""], outputs["gfpgan_1.4"]
    landmarks = detect_faces(plain)[0].landmarks
    diff = np.abs(plain.astype(np.int16) - enhanced.astype(np.int16)).mean(axis=2)
    assert diff[_outline(plain.shape, landmarks, -10) > 0].mean() > 40  # the (inverting) enhancer ran
    assert diff[_outline(plain.shape, landmarks, 8) == 0].mean() < 1.0  # nothing outside the face


def test_visible_label_on_by_default(host, swap_clip, samples, tmp_path):
    from media.face.disclosure import AiLabel

    out = tmp_path / "labelled.mp4"
    load_provider("local").swap(SwapRequest(swap_clip, samples / "photos" / "obama.jpg", out, job_id="job-local-1"),
                                SwapContext(progress=lambda p, m: None))
    with av.open(str(out)) as container:  # the local engine's output is tagged as the onnx engine's is
        assert container.metadata.get("description") == "AI-generated: face swap (job job-local-1)"
    before, after = _frames(swap_clip)[-1], _frames(out)[-1]  # the last frame has no face: only the label
    label = AiLabel(before.shape[1], before.shape[0])
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).mean(axis=2)
    assert diff[label.y0:label.y1, label.x0:label.x1].mean() > 30
    outside = np.ones(diff.shape, bool)
    outside[label.y0:label.y1, label.x0:label.x1] = False
    assert diff[outside].mean() < 1.0


@pytest.mark.parametrize("occlusion", [True, False])
def test_the_onnx_paste_stays_inside_the_target_face_outline(host, samples, occlusion):
    from media.face.landmarks import load_rgb
    from media.face.onnx_swap import prepare_onnx_source, swap_face_onnx

    _download("inswapper_128_fp16", "arcface_w600k_r50")
    photo = load_rgb(samples / "photos" / "obama.jpg")
    source = prepare_onnx_source("inswapper_128_fp16", photo, detect_faces(photo)[0])
    frame = load_rgb(samples / "photos" / "biden_portrait.jpg")
    landmarks = detect_faces(frame)[0].landmarks
    out = frame.copy()
    swap_face_onnx(out, source, landmarks, occlusion=occlusion)
    diff = np.abs(frame.astype(np.int16) - out.astype(np.int16)).mean(axis=2)
    margin = max(2, int(0.01 * max(frame.shape[:2])))
    assert diff[_outline(frame.shape, landmarks, -6 * margin) > 0].mean() > 40  # the face is swapped
    beyond = diff[_outline(frame.shape, landmarks, margin) == 0]
    assert beyond.max() <= 4 and beyond.mean() < 0.1  # nothing beyond its outline (a blurred edge gave 38)


@pytest.mark.parametrize("engine", ["local", "onnx"])
def test_the_enhancer_blend_sets_how_much_of_it_shows(host, swap_clip, samples, tmp_path, engine):
    _download("gfpgan_1.4", "inswapper_128_fp16", "arcface_w600k_r50")
    outputs = {}
    for enhancer, blend in (("", 0.0), ("gfpgan_1.4", 0.5), ("gfpgan_1.4", 1.0)):
        out = tmp_path / f"{engine}{enhancer}{blend}.mp4"
        request = SwapRequest(swap_clip, samples / "photos" / "obama.jpg", out,
                              SwapOptions(enhancer=enhancer, enhancer_blend=blend, ai_label=False))
        load_provider(engine).swap(request, SwapContext(progress=lambda p, m: None))
        outputs[blend] = _frames(out)[0]
    inside = _outline(outputs[0.0].shape, detect_faces(outputs[0.0])[0].landmarks, -10) > 0

    def change(blend: float) -> float:
        return float(np.abs(outputs[0.0].astype(np.int16) - outputs[blend].astype(np.int16)).mean(axis=2)[inside].mean())

    assert change(1.0) > 40  # the (inverting) enhancer ran on this engine's swap
    assert 0.35 < change(0.5) / change(1.0) < 0.65  # half the blend, about half the change
