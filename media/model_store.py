"""Models a creator downloads on request (Settings > Models): the catalog, the download and its checks.

Nothing here downloads at import, install or test time; :func:`download_model` runs only when the
creator presses **Download** in Settings > Models after reading the model's size, licence and source
and ticking the licence box. A download streams to a ``.part`` file beside the target, hashing as it
goes; only a file whose size and SHA-256 equal the catalog's pinned values is moved into place
(``<data folder>/models/<file>``), anything else is deleted and refused.

Sources: the files are the ONNX exports FaceFusion publishes (``facefusion/facefusion-assets`` releases
``models-3.0.0`` and ``models-3.3.0``; licences as FaceFusion's model sets state them in
``facefusion/processors/modules/face_swapper/core.py``, ``face_enhancer/core.py`` and
``face_recognizer.py``). The SHA-256 sums and sizes are the ones several independent public projects
pin for these exact files. ``NOVAI_MODEL_MIRROR_URL`` fetches ``<mirror>/<file>`` instead (a local
mirror; the tests' loopback server); the pinned checksum still applies.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.errors import InvalidInput, NotFound, StudioError

ModelKind = Literal["swapper", "embedder", "enhancer"]
_FF = "https://github.com/facefusion/facefusion-assets/releases/download"
CHUNK_BYTES = 1 << 20
SETTINGS_BUTTON = "Settings > Models > Download"


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model file. ``size_bytes`` and ``sha256`` are pinned; ``commercial_use`` says
    whether its licence allows it (shown before the download)."""

    name: str
    kind: ModelKind
    title: str
    file_name: str
    url: str
    size_bytes: int
    sha256: str
    licence: str
    commercial_use: bool
    needs: tuple[str, ...] = ()  # other models this one cannot run without (the ArcFace embedder)


CATALOG: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("inswapper_128_fp16", "swapper", "InsightFace inswapper 128 (fp16)", "inswapper_128_fp16.onnx",
              f"{_FF}/models-3.0.0/inswapper_128_fp16.onnx", 277_680_829,
              "c4eccca86ad177586c85c28bf1a64a9d9ed237e283a15818d831f7facfd3f420",
              "InsightFace: non-commercial research use only", False, ("arcface_w600k_r50",)),
    ModelSpec("hyperswap_1a_256", "swapper", "FaceFusion HyperSwap 1a 256", "hyperswap_1a_256.onnx",
              f"{_FF}/models-3.3.0/hyperswap_1a_256.onnx", 402_742_682,
              "c0e98a8a03a238f461ed3d2570e426b49f46745ee400854a60dceeb70c246add",
              "FaceFusion ResearchRAIL (research use; read its terms)", False, ("arcface_w600k_r50",)),
    ModelSpec("arcface_w600k_r50", "embedder", "ArcFace w600k r50 (identity embedding for the swappers)",
              "arcface_w600k_r50.onnx", f"{_FF}/models-3.0.0/arcface_w600k_r50.onnx", 174_388_474,
              "f1f79dc3b0b79a69f94799af1fffebff09fbd78fd96a275fd8f0cbbea23270d1",
              "InsightFace: non-commercial research use only", False),
    ModelSpec("gfpgan_1.4", "enhancer", "GFPGAN 1.4 face enhancer", "gfpgan_1.4.onnx",
              f"{_FF}/models-3.0.0/gfpgan_1.4.onnx", 340_299_087,
              "accc4757b26bdb89b32b4d3500d4f79c9dff97c1dd7c7104bf9dcb95e3311385", "Apache-2.0 (TencentARC)", True),
    ModelSpec("gpen_bfr_512", "enhancer", "GPEN BFR 512 face enhancer", "gpen_bfr_512.onnx",
              f"{_FF}/models-3.0.0/gpen_bfr_512.onnx", 284_340_240,
              "d5f066b9068a8b74217f9712e28e875a6144629b108a6f7355acbdb3a2832c54",
              "GPEN (yangxy): non-commercial use only", False),
)}
SWAP_MODELS = tuple(n for n, s in CATALOG.items() if s.kind == "swapper")
ENHANCER_MODELS = tuple(n for n, s in CATALOG.items() if s.kind == "enhancer")


class ModelMissing(NotFound):
    """A model the job needs is not downloaded; the message names it and the Settings button."""


class ModelDownloadError(StudioError):
    """A download failed (HTTP error, wrong size or checksum); nothing was kept."""


def spec(name: str) -> ModelSpec:
    """The catalog entry ``name``; raises InvalidInput listing the known ones."""
    if name not in CATALOG:
        raise InvalidInput(f"unknown model {name!r} (known: {', '.join(CATALOG)})")
    return CATALOG[name]


def models_dir() -> Path:
    """``<data folder>/models`` (created on first use)."""
    from media.settings import get_settings

    path = get_settings().data_dir / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_path(name: str) -> Path:
    """Where model ``name`` is (or would be) stored."""
    return models_dir() / spec(name).file_name


def is_downloaded(name: str) -> bool:
    """True when the model's file is in place with its pinned size (its checksum was checked on
    download; a truncated or replaced file of another size counts as missing)."""
    path = model_path(name)
    return path.is_file() and path.stat().st_size == spec(name).size_bytes


def missing_models(names: tuple[str, ...] | list[str]) -> list[str]:
    """The models of ``names`` (and the models they need) that are not downloaded, in order."""
    wanted: list[str] = []
    for name in names:
        for item in (name, *spec(name).needs):
            if item not in wanted:
                wanted.append(item)
    return [n for n in wanted if not is_downloaded(n)]


def require_model(name: str) -> Path:
    """The path of downloaded model ``name``; raises :class:`ModelMissing` naming the model and the
    Settings button otherwise."""
    if not is_downloaded(name):
        item = spec(name)
        raise ModelMissing(f"the model {item.title} ({name}, {item.size_bytes / 1e6:.0f} MB) is not downloaded: "
                           f"open {SETTINGS_BUTTON}, read its licence ({item.licence}) and download it")
    return model_path(name)


def download_url(name: str) -> str:
    """The URL a download of ``name`` uses: the catalog's, or ``<NOVAI_MODEL_MIRROR_URL>/<file>``."""
    from media.settings import get_settings

    mirror = get_settings().model_mirror_url.rstrip("/")
    return f"{mirror}/{spec(name).file_name}" if mirror else spec(name).url


def download_model(name: str, accept_licence: bool,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Download model ``name`` into the models folder and return its path.

    ``accept_licence`` must be True (the creator ticked the licence box). ``progress(done_bytes,
    total_bytes)`` is called as chunks arrive. A model already in place is not fetched again.

    Raises InvalidInput when the licence was not accepted, :class:`ModelDownloadError` on an HTTP error,
    a wrong size or a wrong SHA-256 (the partial file is deleted, nothing is kept).
    """
    import httpx
    from filelock import FileLock

    item = spec(name)
    if not accept_licence:
        raise InvalidInput(f"tick 'I accept the licence' for {item.title} ({item.licence}) before downloading")
    target = model_path(name)
    part = target.with_name(target.name + ".part")
    with FileLock(str(target) + ".lock"):
        if is_downloaded(name):
            return target
        digest, done = hashlib.sha256(), 0
        url = download_url(name)
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as response:
                if response.status_code != 200:
                    raise ModelDownloadError(f"downloading {item.title} failed: HTTP {response.status_code} "
                                             f"from {url}")
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(CHUNK_BYTES):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if done > item.size_bytes:
                            raise ModelDownloadError(f"{item.title}: the server sent more than the expected "
                                                     f"{item.size_bytes} bytes; refused")
                        if progress:
                            progress(done, item.size_bytes)
            if done != item.size_bytes:
                raise ModelDownloadError(f"{item.title}: got {done} bytes, expected {item.size_bytes}; refused")
            if digest.hexdigest() != item.sha256:
                raise ModelDownloadError(f"{item.title}: SHA-256 {digest.hexdigest()} does not match the pinned "
                                         f"{item.sha256}; the file was deleted")
            os.replace(part, target)
        except httpx.HTTPError as exc:
            raise ModelDownloadError(f"downloading {item.title} from {url} failed: {exc}") from exc
        finally:
            part.unlink(missing_ok=True)
    return target


def delete_model(name: str) -> None:
    """Remove downloaded model ``name`` (nothing happens when it is not there)."""
    model_path(name).unlink(missing_ok=True)


def catalog_rows() -> list[list[str]]:
    """Rows for Settings > Models: name, status (downloaded or not), what it is, size (MB), licence,
    commercial use, source URL (the columns of ``studio.models_section.MODEL_HEADERS``)."""
    return [[s.name, "downloaded" if is_downloaded(s.name) else "not downloaded", s.title, f"{s.size_bytes / 1e6:.0f}",
             s.licence, "yes" if s.commercial_use else "no", s.url] for s in CATALOG.values()]
