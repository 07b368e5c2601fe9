"""Catalog side of the LoRA Creator: dataset rows (``lora_datasets``) and model rows (``lora_models``).

Files: a dataset is ``datasets/<id>/`` (images + captions) and ``datasets/<id>_<name>.zip``; a model's
weights live in ``models/<id>/``; thumbnails in ``thumbnails/``. Everything is written in a
``work_dir()`` and moved into place complete, so a failure stores nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from media import lora_dataset as ld
from media.db import get_row, session_scope, update_row
from media.errors import InvalidInput, NotFound, StudioError
from media.lora_import import inspect_lora_file
from media.models import CharacterDiagram, Image, LoraDataset, LoraModel, utcnow
from media.settings import get_settings
from media.store import (
    abs_path,
    commit_file,
    media_root,
    new_file_path,
    rel_path,
    remove_files,
    safe_name,
    work_dir,
)


class DatasetNotFound(StudioError, LookupError):
    """No ``lora_datasets`` row with that id."""


class LoraNotFound(StudioError, LookupError):
    """No ``lora_models`` row with that id."""


# -- datasets -----------------------------------------------------------------------------------------
def resolve_sources(ids: list[str]) -> list[ld.SourceImage]:
    """Library image ids and/or character diagram ids -> source images; raises LookupError naming an unknown id."""
    sources = []
    with session_scope() as session:
        for item_id in ids:
            image = session.get(Image, item_id)
            if image is None:
                diagram = session.get(CharacterDiagram, item_id)
                if diagram is not None and diagram.image_id:
                    image = session.get(Image, diagram.image_id)
                elif diagram is not None and diagram.file:
                    sources.append(ld.SourceImage(f"{diagram.name}.png", abs_path(diagram.file), None))
                    continue
            if image is None:
                raise NotFound(f"no library image or character diagram with id {item_id}")
            sources.append(ld.SourceImage(image.name or Path(image.file).name, abs_path(image.file), image.id))
    return sources


def create_dataset(sources: list[ld.SourceImage], trigger_word: str, options: ld.DatasetOptions,
                   name: str = "") -> LoraDataset:
    """Prepare ``sources`` into a stored dataset (folder, ZIP, thumbnail, row); returns the row.

    Raises ValueError when the options or trigger word are bad or no image is usable.
    """
    options.validate()
    trigger = ld.validate_trigger_word(trigger_word)
    dataset = LoraDataset(name=name.strip() or f"{trigger} dataset", trigger_word=trigger,
                          caption_template=options.caption_template, resolution=options.resolution,
                          crop=options.crop, is_person=options.is_person)
    max_pixels = get_settings().lora_max_image_pixels
    with work_dir("dataset-") as scratch:
        folder = scratch / "images"
        folder.mkdir()
        prepared = ld.prepare_images(sources, trigger, options, folder, max_pixels)
        items = [item.to_dict() for item in prepared.items]
        zip_tmp = ld.write_zip(folder, items, scratch / "dataset.zip")
        thumb_tmp = ld.thumbnail(folder / items[0]["file"], scratch / "thumb.jpg")
        final_folder = media_root() / "datasets" / dataset.id
        zip_dest = new_file_path("datasets", f"{dataset.id}_{safe_name(dataset.name)}.zip")
        thumb_dest = new_file_path("thumbnails", f"dataset_{dataset.id}.jpg")
        commit_file(folder, final_folder)
        commit_file(zip_tmp, zip_dest)
        commit_file(thumb_tmp, thumb_dest)
    dataset.folder, dataset.zip_file, dataset.thumbnail = rel_path(final_folder), rel_path(zip_dest), rel_path(thumb_dest)
    dataset.items, dataset.warnings, dataset.count = items, prepared.warnings, len(items)
    try:
        with session_scope() as session:
            session.add(dataset)
    except Exception:
        remove_files(dataset.folder, dataset.zip_file, dataset.thumbnail)
        raise
    return dataset


def get_dataset(dataset_id: str) -> LoraDataset:
    """The dataset row; raises :class:`DatasetNotFound`."""
    return get_row(LoraDataset, dataset_id, DatasetNotFound, "LoRA dataset")


def list_datasets(limit: int = 200) -> list[LoraDataset]:
    """Datasets, newest first."""
    with session_scope() as session:
        return list(session.exec(select(LoraDataset).order_by(col(LoraDataset.created_at).desc()).limit(limit)))


def dataset_to_dict(dataset: LoraDataset) -> dict[str, Any]:
    """API view of a dataset."""
    return {"dataset_id": dataset.id, "name": dataset.name, "trigger_word": dataset.trigger_word,
            "count": dataset.count, "resolution": dataset.resolution, "crop": dataset.crop,
            "is_person": dataset.is_person, "zip_file": dataset.zip_file, "thumbnail": dataset.thumbnail,
            "warnings": list(dataset.warnings), "items": list(dataset.items)}


def dataset_image_paths(dataset: LoraDataset) -> list[tuple[Path, str]]:
    """(absolute image path, caption) per dataset image, for preview grids."""
    folder = abs_path(dataset.folder)
    return [(folder / item["file"], item["caption"]) for item in dataset.items]


def update_captions(dataset_id: str, captions: dict[str, str]) -> LoraDataset:
    """Set captions by image file name and rebuild the ZIP (atomically); returns the row.

    Raises ValueError for an unknown file name or an empty caption, :class:`DatasetNotFound`.
    """
    dataset = get_dataset(dataset_id)
    items = [dict(item) for item in dataset.items]
    by_file = {item["file"]: item for item in items}
    for file_name, caption in captions.items():
        if file_name not in by_file:
            raise InvalidInput(f"dataset {dataset_id} has no image named {file_name}")
        text = " ".join(str(caption).split())
        if not text:
            raise InvalidInput(f"caption of {file_name} is empty")
        by_file[file_name]["caption"] = text
    folder = abs_path(dataset.folder)
    with work_dir("captions-") as scratch:
        zip_tmp = ld.write_zip(folder, items, scratch / "dataset.zip")
        for item in items:
            caption_tmp = scratch / (Path(item["file"]).stem + ".txt")
            caption_tmp.write_text(item["caption"] + "\n", encoding="utf-8")
            commit_file(caption_tmp, folder / caption_tmp.name)
        commit_file(zip_tmp, abs_path(dataset.zip_file))
    with session_scope() as session:
        row = session.get(LoraDataset, dataset_id)
        row.items = items
        row.updated_at = utcnow()
        session.add(row)
        return row


def delete_dataset(dataset_id: str) -> None:
    """Delete a dataset row and its files (models trained from it keep their own files)."""
    dataset = get_dataset(dataset_id)
    with session_scope() as session:
        session.delete(session.get(LoraDataset, dataset_id))
    remove_files(dataset.folder, dataset.zip_file, dataset.thumbnail)


# -- models -------------------------------------------------------------------------------------------
def get_lora(lora_id: str) -> LoraModel:
    """The model row; raises :class:`LoraNotFound`."""
    return get_row(LoraModel, lora_id, LoraNotFound, "LoRA")


def update_lora(lora_id: str, **fields: Any) -> LoraModel:
    """Set columns on a model row (``updated_at`` too); returns it."""
    return update_row(LoraModel, lora_id, LoraNotFound, "LoRA", **fields)


def list_lora_rows(limit: int = 500) -> list[LoraModel]:
    """Model rows, newest first."""
    with session_scope() as session:
        return list(session.exec(select(LoraModel).order_by(col(LoraModel.created_at).desc()).limit(limit)))


def lora_to_dict(lora: LoraModel) -> dict[str, Any]:
    """API view of a model (paths relative to the media folder)."""
    return {"id": lora.id, "lora_id": lora.id, "name": lora.name, "status": lora.status, "source": lora.source,
            "trigger_word": lora.trigger_word, "training_steps": lora.training_steps, "rank": lora.rank,
            "tensor_count": lora.tensor_count, "size_bytes": lora.size_bytes, "weights_file": lora.weights_file,
            "high_noise_file": lora.high_noise_file, "config_file": lora.config_file,
            "thumbnail": lora.thumbnail, "cost_cents": lora.cost_cents, "error": lora.error_message,
            "info": dict(lora.info or {}),
            "created_at": lora.created_at.isoformat() if lora.created_at else None,
            "completed_at": lora.completed_at.isoformat() if lora.completed_at else None}


def delete_lora(lora_id: str) -> None:
    """Delete a model row and its files; raises ValueError while it is training (cancel the job first)."""
    lora = get_lora(lora_id)
    if lora.status in ("pending", "training"):
        raise InvalidInput(f"LoRA {lora.name} is still training; cancel its job before deleting it")
    with session_scope() as session:
        session.delete(session.get(LoraModel, lora_id))
    folder = media_root() / "models" / lora_id
    remove_files(lora.weights_file, lora.high_noise_file, lora.config_file, lora.thumbnail,
                 rel_path(folder) if folder.exists() else None)


def import_lora_file(path: Path, name: str, trigger_word: str = "", original_name: str | None = None) -> LoraModel:
    """Check ``path`` is a ``.safetensors`` LoRA (see ``media/lora_import.py``) and store it as a ready model.

    Raises :class:`media.lora_import.LoraFileError` (nothing stored) or ValueError for an empty name.
    """
    label = original_name or Path(path).name
    info = inspect_lora_file(Path(path), label)
    name = " ".join((name or Path(label).stem).split())
    if not name:
        raise InvalidInput("the LoRA needs a name")
    lora = LoraModel(name=name, trigger_word=" ".join((trigger_word or "").split()), status="ready",
                     source="imported", rank=info.rank, tensor_count=info.tensor_count,
                     size_bytes=info.size_bytes, info={"import": info.to_dict(), "original_name": label},
                     completed_at=utcnow())
    with work_dir("import-") as scratch:
        tmp = scratch / "weights.safetensors"
        shutil.copyfile(path, tmp)
        inspect_lora_file(tmp, label)  # the copy is what gets stored
        dest = media_root() / "models" / lora.id / f"{safe_name(name)}.safetensors"
        commit_file(tmp, dest)
    lora.weights_file = rel_path(dest)
    try:
        with session_scope() as session:
            session.add(lora)
    except Exception:
        remove_files(lora.weights_file)
        raise
    return lora


def dataset_source_choices() -> list[tuple[str, str]]:
    """(label, id) of every library image and ready character diagram, for a dataset picker."""
    with session_scope() as session:
        images = list(session.exec(select(Image).order_by(col(Image.created_at).desc()).limit(1000)))
        diagrams = list(session.exec(select(CharacterDiagram).where(CharacterDiagram.status == "ready")))
    choices = [(f"diagram: {d.name}", d.id) for d in diagrams if d.image_id or d.file]
    diagram_images = {d.image_id for d in diagrams}
    choices += [(f"image: {i.name}", i.id) for i in images if i.id not in diagram_images]
    return choices
