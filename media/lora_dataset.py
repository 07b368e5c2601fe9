"""LoRA dataset preparation: validate images by content, crop around the face, caption, hash, ZIP.

Pure file processing (no catalog rows; ``media/lora_catalog.py`` stores the result). Each source image:

1. opened by content with Pillow (the extension is ignored); non-images, corrupt/truncated files and
   decompression bombs (more than ``settings.lora_max_image_pixels``) are refused with one message per file;
2. EXIF orientation applied (``ImageOps.exif_transpose``), alpha flattened on white, converted to RGB;
3. faces found with ``media.face.landmarks.detect_faces`` (a person dataset flags images with no face);
4. cropped to a square centred on the largest face (or kept at its aspect ratio), resized so its side
   (square) or long side (keep) is ``resolution`` pixels; never upscaled (a smaller image is kept at its
   size, with a warning);
5. perceptual hash (``imagehash.phash``, 64 bits): a Hamming distance <= ``duplicate_distance`` to an
   earlier image flags a near-duplicate;
6. captioned from a template where ``[trigger]`` becomes the trigger word.

Trainers ask for at least 10 images, so fewer gives a warning (not an error).
The ZIP holds ``NNN_name.jpg`` + ``NNN_name.txt`` pairs at its root (the layout fal's trainers read).
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from media.errors import InvalidInput, StudioError
from media.store import safe_name

CropMode = Literal["square", "keep"]
TRIGGER_TOKEN = "[trigger]"
MIN_RECOMMENDED_IMAGES = 10
JPEG_QUALITY = 95


class ImageRejected(StudioError, ValueError):
    """A source image that cannot go into a dataset; the message names the file and the reason."""


@dataclass(frozen=True)
class DatasetOptions:
    """How a dataset is prepared. ``resolution`` in pixels (256..4096); ``duplicate_distance`` in bits
    of the 64-bit perceptual hash; ``skip_duplicates`` drops flagged near-duplicates instead of keeping them."""

    resolution: int = 1024
    crop: CropMode = "square"
    caption_template: str = f"a photo of {TRIGGER_TOKEN}"
    is_person: bool = True
    skip_duplicates: bool = False
    duplicate_distance: int = 6

    @classmethod
    def from_dict(cls, options: dict | None) -> DatasetOptions:
        """Options from an API dict; raises ValueError naming an unknown key or a bad value."""
        options = dict(options or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidInput(f"unknown dataset option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        result = cls(**options)
        result.validate()
        return result

    def validate(self) -> None:
        """Raise ValueError naming the first bad value."""
        if not isinstance(self.resolution, int) or not 256 <= self.resolution <= 4096:
            raise InvalidInput(f"resolution must be 256..4096 pixels, got {self.resolution!r}")
        if self.crop not in get_args(CropMode):
            raise InvalidInput(f"crop must be one of {get_args(CropMode)}, got {self.crop!r}")
        if not self.caption_template.strip():
            raise InvalidInput("caption template is empty")
        if not 0 <= int(self.duplicate_distance) <= 32:
            raise InvalidInput("duplicate_distance must be 0..32 bits")


@dataclass(frozen=True)
class SourceImage:
    """An image offered to the dataset: display ``name``, file ``path``, library ``image_id`` if any."""

    name: str
    path: Path
    image_id: str | None = None


@dataclass
class PreparedImage:
    """One dataset image as written: ``file`` (name in the dataset folder/ZIP), its ``caption`` and facts."""

    file: str
    caption: str
    source_name: str
    source_image_id: str | None
    width: int
    height: int
    faces: int
    phash: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict (stored as JSON in ``lora_datasets.items``)."""
        return asdict(self)


@dataclass
class PreparedDataset:
    """What :func:`prepare_images` produced: kept images, dataset warnings, refused files (one message each)."""

    items: list[PreparedImage]
    warnings: list[str]
    rejected: list[str]


def validate_trigger_word(trigger_word: str) -> str:
    """The trigger word stripped; raises ValueError when empty, multi-line, over 50 characters or bracketed."""
    word = " ".join((trigger_word or "").split())
    if not word:
        raise InvalidInput("trigger word is empty")
    if len(word) > 50:
        raise InvalidInput(f"trigger word is longer than 50 characters: {word[:20]}...")
    if any(ch in word for ch in "[]"):
        raise InvalidInput(f"trigger word must not contain brackets: {word}")
    return word


def caption_for(template: str, trigger_word: str) -> str:
    """``template`` with every ``[trigger]`` replaced; the trigger word is put first when the template has none."""
    text = " ".join(template.split())
    if TRIGGER_TOKEN in text:
        return text.replace(TRIGGER_TOKEN, trigger_word)
    return f"{trigger_word}, {text}"


def load_image(path: Path, max_pixels: int, name: str | None = None) -> Image.Image:
    """Open ``path`` by content as an upright RGB image (EXIF orientation applied, alpha on white).

    Raises :class:`ImageRejected` naming the file: not an image, corrupt or truncated, or more than
    ``max_pixels`` pixels (a decompression bomb or simply too large).
    """
    label = name or Path(path).name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise ImageRejected(f"{label}: {width}x{height} is {width * height:,} pixels, over the "
                                        f"{max_pixels:,}-pixel limit (possible decompression bomb); refused")
                opened.seek(0)
                opened.load()
                image = ImageOps.exif_transpose(opened)
                image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"{label}: too many pixels (possible decompression bomb); refused") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(f"{label}: not an image (its content is not a format Pillow can read)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"{label}: corrupt or truncated image ({exc})") from exc
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "I;16" or image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        return Image.fromarray((array / peak * 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def crop_box(width: int, height: int, crop: CropMode,
             face_center: tuple[float, float] | None) -> tuple[int, int, int, int]:
    """Crop rectangle ``(left, top, right, bottom)`` in pixels.

    ``square``: the largest square, centred on ``face_center`` (clamped inside the image) or on the image
    centre when there is no face. ``keep``: the whole image.
    """
    if crop == "keep":
        return (0, 0, width, height)
    side = min(width, height)
    cx, cy = face_center if face_center is not None else (width / 2.0, height / 2.0)
    left = round(min(max(cx - side / 2.0, 0), width - side))
    top = round(min(max(cy - side / 2.0, 0), height - side))
    return (left, top, left + side, top + side)


def target_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """Size after scaling the long side down to ``resolution`` (never up)."""
    scale = min(1.0, resolution / max(width, height))
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def _detect(rgb: np.ndarray) -> list:
    from media.face.landmarks import detect_faces  # MediaPipe loads only when a dataset is built

    return detect_faces(rgb, max_faces=5)


def prepare_image(source: SourceImage, options: DatasetOptions, max_pixels: int) -> tuple[Image.Image, int, list[str]]:
    """Load, face-detect and crop one image; returns (image, face count, warnings). Raises ImageRejected."""
    image = load_image(source.path, max_pixels, source.name)
    notes: list[str] = []
    faces = _detect(np.asarray(image))
    if not faces and options.is_person:
        notes.append(f"{source.name}: no face found (a person dataset should show the face)")
    if len(faces) > 1 and options.is_person:
        notes.append(f"{source.name}: {len(faces)} faces; the crop follows the largest")
    center = faces[0].center if faces else None
    box = crop_box(image.width, image.height, options.crop, center)
    cropped = image.crop(box)
    size = target_size(cropped.width, cropped.height, options.resolution)
    if max(cropped.size) < options.resolution:
        notes.append(f"{source.name}: {max(cropped.size)} px after cropping, below the {options.resolution} px "
                     "resolution; kept at its size (not upscaled)")
    if size != cropped.size:
        cropped = cropped.resize(size, Image.Resampling.LANCZOS)
    return cropped, len(faces), notes


def prepare_images(sources: list[SourceImage], trigger_word: str, options: DatasetOptions,
                   out_dir: Path, max_pixels: int) -> PreparedDataset:
    """Write prepared ``NNN_name.jpg`` + ``.txt`` pairs into ``out_dir``; returns items, warnings, refusals.

    Raises ValueError when no image could be used (the message lists each refused file).
    """
    trigger = validate_trigger_word(trigger_word)
    caption = caption_for(options.caption_template, trigger)
    items: list[PreparedImage] = []
    hashes: list[tuple[imagehash.ImageHash, str]] = []
    dataset_warnings: list[str] = []
    rejected: list[str] = []
    for source in sources:
        try:
            image, face_count, notes = prepare_image(source, options, max_pixels)
        except ImageRejected as exc:
            rejected.append(str(exc))
            continue
        phash = imagehash.phash(image)
        twin = next(((name, phash - h) for h, name in hashes if phash - h <= options.duplicate_distance), None)
        if twin is not None:
            notes.append(f"{source.name}: near-duplicate of {twin[0]} (perceptual hash distance {twin[1]} bits)")
            if options.skip_duplicates:
                dataset_warnings.extend(notes[-1:])
                dataset_warnings[-1] += "; skipped"
                continue
        hashes.append((phash, source.name))
        stem = f"{len(items) + 1:03d}_{safe_name(Path(source.name).stem, 40, 'image')}"
        image.save(out_dir / f"{stem}.jpg", "JPEG", quality=JPEG_QUALITY)
        (out_dir / f"{stem}.txt").write_text(caption + "\n", encoding="utf-8")
        items.append(PreparedImage(f"{stem}.jpg", caption, source.name, source.image_id, image.width,
                                   image.height, face_count, str(phash), notes))
        dataset_warnings.extend(notes)
    if not items:
        reasons = "; ".join(rejected) or "no images given"
        raise InvalidInput(f"no usable image for the dataset: {reasons}")
    if len(items) < MIN_RECOMMENDED_IMAGES:
        dataset_warnings.insert(0, f"only {len(items)} image(s): LoRA trainers ask for at least "
                                   f"{MIN_RECOMMENDED_IMAGES}; add more for a reliable likeness")
    return PreparedDataset(items, dataset_warnings + rejected, rejected)


def write_zip(folder: Path, items: list[dict], zip_path: Path) -> Path:
    """ZIP of each item's image + ``.txt`` caption (captions taken from ``items``) at the archive root."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for item in items:
            archive.write(folder / item["file"], arcname=item["file"])
            caption_name = Path(item["file"]).with_suffix(".txt").name
            archive.writestr(caption_name, item["caption"].strip() + "\n")
    return zip_path


def thumbnail(image_path: Path, dest: Path, size: int = 256) -> Path:
    """A JPEG thumbnail (longest side ``size`` pixels) of ``image_path`` at ``dest``."""
    with Image.open(image_path) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        image.save(dest, "JPEG", quality=88)
    return dest
