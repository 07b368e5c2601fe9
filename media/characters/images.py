"""Image files checked by content (not by name) and their thumbnails.

An upload is accepted when Pillow can identify and fully decode it as one of ``ALLOWED_FORMATS``, it
is at most ``max_image_upload_mb`` MiB, and it has at most ``MAX_PIXELS`` pixels (a decompression-bomb
guard well under Pillow's own 179 MP error limit).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from media.errors import StudioError
from media.settings import get_settings

ALLOWED_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO"})
MAX_PIXELS = 60_000_000
THUMBNAIL_PX = 320


class ImageFileError(StudioError, ValueError):
    """A file that is not an acceptable image; the message names the file and the problem."""


@dataclass(frozen=True)
class ImageFacts:
    """What a checked image is: pixel size (after EXIF orientation), Pillow format, bytes."""

    width: int
    height: int
    format: str
    size_bytes: int


def _open_checked(data: io.BytesIO | Path, label: str, size_bytes: int) -> ImageFacts:
    limit_mb = get_settings().max_image_upload_mb
    if size_bytes > limit_mb * 1024 * 1024:
        raise ImageFileError(f"image too large: {label} is {size_bytes / 1048576:.1f} MiB; "
                             f"the limit is {limit_mb} MiB (NOVAI_MAX_IMAGE_UPLOAD_MB)")
    if size_bytes == 0:
        raise ImageFileError(f"not an image: {label} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data) as image:
                fmt = image.format or ""
                if fmt not in ALLOWED_FORMATS:
                    raise ImageFileError(f"not a supported image: {label} is {fmt or 'unknown'}; "
                                         f"use JPEG, PNG or WebP")
                if image.width * image.height > MAX_PIXELS:
                    raise ImageFileError(f"image too large: {label} is {image.width}x{image.height} "
                                         f"pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels")
                image.load()  # decode every pixel: a truncated or corrupt file fails here
                oriented = ImageOps.exif_transpose(image)
                return ImageFacts(oriented.width, oriented.height, fmt, size_bytes)
    except ImageFileError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageFileError(f"not an image: {label} could not be decoded ({exc})") from exc


def check_image_file(path: Path) -> ImageFacts:
    """Check a file by content; raises :class:`ImageFileError` naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"no such file: {path.name}")
    return _open_checked(path, path.name, path.stat().st_size)


def check_image_bytes(data: bytes, label: str) -> ImageFacts:
    """Same as :func:`check_image_file` for bytes in memory (a provider's answer)."""
    return _open_checked(io.BytesIO(data), label, len(data))


def write_thumbnail(src: Path, dest: Path, size: int = THUMBNAIL_PX) -> Path:
    """A JPEG thumbnail of ``src`` at most ``size`` pixels on its long side (EXIF orientation applied,
    alpha flattened on white); returns ``dest``."""
    with Image.open(src) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, (255, 255, 255))
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image = image.convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        image.save(dest, format="JPEG", quality=88)
    return dest
