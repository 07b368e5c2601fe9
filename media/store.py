"""The file store: every stored file lives under the media folder, addressed by a relative path.

Layout: ``videos/``, ``audio/``, ``images/``, ``thumbnails/``, ``variants/<batch_id>/``, ``zips/``,
``models/``, ``datasets/``, ``cache/`` (normalised sources), ``tmp/`` (work in progress; files move
into place only when complete, so a crash never leaves a half-written file in the library).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anyascii import anyascii

from media.errors import StudioError
from media.models import new_id
from media.settings import get_settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class StoreError(StudioError, ValueError):
    """A path that would leave the media folder, or a missing stored file."""


def media_root() -> Path:
    """Absolute media folder (created by ``get_settings``)."""
    return get_settings().media_dir


def safe_name(name: str, max_len: int = 60, default: str = "file") -> str:
    """ASCII-only, filesystem-safe version of ``name`` (letters, digits, ``._-``), at most ``max_len``.

    Every script is transliterated by ``anyascii`` (``é`` -> ``e``, ``фильм`` -> ``film``, ``コーヒー``
    -> ``kohi``, ``🎬`` -> ``clapper``); what is left outside ``[A-Za-z0-9._-]`` becomes ``_``. Never
    empty (``default``), never ``.``/``..``.
    """
    folded = anyascii(unicodedata.normalize("NFC", name))
    cleaned = _UNSAFE.sub("_", folded).strip("._-")
    cleaned = re.sub(r"_+", "_", cleaned)[:max_len].strip("._-")
    return cleaned or default


def abs_path(rel: str | None) -> Path:
    """Absolute path of a stored file; raises :class:`StoreError` if ``rel`` escapes the media folder."""
    if not rel:
        raise StoreError("no file stored")
    root = media_root()
    path = (root / rel).resolve()
    if root != path and root not in path.parents:
        raise StoreError(f"path outside the media folder: {rel}")
    return path


def rel_path(path: Path) -> str:
    """Path of ``path`` relative to the media folder (POSIX separators)."""
    return path.resolve().relative_to(media_root()).as_posix()


def new_file_path(folder: str, original_name: str, suffix: str | None = None) -> Path:
    """A fresh, unused absolute path ``<media>/<folder>/<id8>_<safe name><suffix>``."""
    stem = safe_name(Path(original_name).stem)
    ext = suffix if suffix is not None else Path(original_name).suffix.lower()
    ext = "." + safe_name(ext.lstrip("."), 8, "bin") if ext else ""
    target_dir = media_root() / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    return target_dir / f"{new_id()[:8]}_{stem}{ext}"


def tmp_dir() -> Path:
    """The store's scratch folder (same filesystem as the library, so moves are atomic)."""
    path = media_root() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def work_dir(prefix: str = "work-") -> Iterator[Path]:
    """A scratch folder under the store's tmp folder, removed afterwards whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_dir()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def readable_os_error(exc: OSError) -> str:
    """An OS error as a creator can read it: its reason and the file's name, never the server's path
    (``No space left on device (is the disk full?): clip.mp4``). A catalog error keeps its message."""
    if isinstance(exc, StudioError) or not exc.strerror:
        return str(exc) or exc.__class__.__name__
    names = [Path(str(n)).name for n in (exc.filename, exc.filename2) if n]
    hint = " (is the disk full?)" if exc.errno == errno.ENOSPC else ""
    return f"{exc.strerror}{hint}" + (f": {', '.join(names)}" if names else "")


def clean_scratch() -> dict[str, int]:
    """Remove what killed work left behind: everything under ``tmp/``, the ``.tmp-*`` folders and files of
    normalisations, audio tracks and hook windows killed mid-way under ``cache/``, and ``.*.part.mp4`` renders under ``variants/``.

    Call at start-up, before any worker runs (a live job's scratch would go too). Returns
    ``{"tmp": n, "cache": n, "parts": n}``, the entries removed.
    """
    removed = {"tmp": 0, "cache": 0, "parts": 0}
    root = media_root()
    tmp = root / "tmp"
    if tmp.is_dir():
        for entry in tmp.iterdir():
            _remove(entry)
            removed["tmp"] += 1
    cache = root / "cache"
    if cache.is_dir():
        for leftover in sorted(cache.rglob(".tmp-*"), key=lambda p: len(p.parts)):
            if not leftover.exists():
                continue  # inside a .tmp-* folder removed just before
            _remove(leftover)
            removed["cache"] += 1
    variants = root / "variants"
    if variants.is_dir():
        for part in variants.rglob(".*.part.mp4"):
            part.unlink(missing_ok=True)
            removed["parts"] += 1
    tmp_dir()
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def commit_file(src: Path, dest: Path) -> Path:
    """Move a finished file into place atomically (``os.replace``); returns ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dest)
    return dest


def remove_files(*rels: str | None) -> None:
    """Delete stored files by relative path; missing files and empty entries are ignored."""
    for rel in rels:
        if not rel:
            continue
        try:
            path = abs_path(rel)
        except StoreError:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def dir_size(folder: str) -> int:
    """Total bytes of the files under ``<media>/<folder>`` (0 when it does not exist)."""
    root = media_root() / folder
    if not root.exists():
        return 0
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
