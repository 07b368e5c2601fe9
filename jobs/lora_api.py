"""The LoRA Creator's named API (``build_lora_dataset``, ``train_lora``, ``import_lora``, ``list_loras``).

Plain functions returning JSON-able dicts; ``studio/lora_tab.py`` registers them with ``gr.api`` and the
tab's own events call them too. Documented in ``docs/API.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs import lora_tasks
from jobs.lora_tasks import TRAINING_STEPS_MAX, TRAINING_STEPS_MIN
from media import lora_catalog as catalog
from media.errors import InvalidInput
from media.lora_dataset import DatasetOptions, SourceImage
from media.settings import get_settings
from media.validate import NAME_MAX_CHARS, display_name, whole_number


def _dataset_result(dataset) -> dict[str, Any]:
    return {"dataset_id": dataset.id, "count": dataset.count, "warnings": list(dataset.warnings),
            "trigger_word": dataset.trigger_word, "zip_file": dataset.zip_file}


def _split_options(options: dict | None) -> tuple[str, DatasetOptions]:
    opts = dict(options or {})
    name = str(opts.pop("name", "") or "")
    return name, DatasetOptions.from_dict(opts)


def build_lora_dataset(image_ids: list[str], trigger_word: str, options: dict | None = None) -> dict[str, Any]:
    """Build a LoRA dataset from library image ids and/or character diagram ids.

    ``options``: ``name``, ``resolution`` (1024), ``crop`` ("square" | "keep"), ``caption_template``
    ("a photo of [trigger]"), ``is_person`` (true), ``skip_duplicates`` (false), ``duplicate_distance`` (6).
    Returns ``{dataset_id, count, warnings, trigger_word, zip_file}``. Raises ValueError/LookupError
    naming the bad input (unknown id, bad option, no usable image).
    """
    if not image_ids:
        raise InvalidInput("no images given: pass library image ids or character diagram ids")
    name, opts = _split_options(options)
    sources = catalog.resolve_sources(list(image_ids))
    trigger = trigger_word or get_settings().lora_default_trigger
    return _dataset_result(catalog.create_dataset(sources, trigger, opts, name))


def build_lora_dataset_from_files(paths: list[str | Path], trigger_word: str,
                                  options: dict | None = None) -> dict[str, Any]:
    """Same as :func:`build_lora_dataset` for uploaded files (the tab's uploads), by path."""
    if not paths:
        raise InvalidInput("no images given")
    name, opts = _split_options(options)
    sources = [SourceImage(Path(p).name, Path(p)) for p in paths]
    trigger = trigger_word or get_settings().lora_default_trigger
    return _dataset_result(catalog.create_dataset(sources, trigger, opts, name))


def estimate_lora_training(steps: int = 1000) -> dict[str, Any]:
    """Cost estimate of a training: ``{steps, billed_steps, usd_per_step, cents, usd}`` from the registry's
    ``lora`` provider price (jobs/providers/lora_fal.py: fal's published $0.0045 per step, 100 steps
    minimum; ``NOVAI_FAL_PRICES`` overrides it)."""
    from jobs.providers import get_provider

    steps = whole_number(steps, "steps", TRAINING_STEPS_MIN, TRAINING_STEPS_MAX)
    price = get_provider("lora", "fal").current_price()
    cents = lora_tasks.estimate_training_cents(int(steps))
    billed = max(int(steps), int(price.base_units))
    return {"steps": int(steps), "billed_steps": billed, "usd_per_step": round(price.cents_per_unit / 100, 8),
            "cents": cents, "usd": round(cents / 100, 2)}


def train_lora(dataset_id: str, name: str, options: dict | None = None) -> dict[str, Any]:
    """Start training a LoRA on fal from a dataset; returns ``{job_id, lora_id, estimate_cents}``.

    ``options``: ``steps`` (1000), ``learning_rate`` (0.0007), ``is_style`` (false),
    ``use_face_detection`` (true), ``use_face_cropping`` (false), ``use_masks`` (true),
    ``include_synthetic_captions`` (false), ``test_image`` (false). Needs ``FAL_KEY``.
    """
    if name and str(name).strip():
        name = display_name(name, "LoRA name")
    return lora_tasks.start_training(dataset_id, name, options)


def _file_path(file: Any) -> tuple[Path, str]:
    if isinstance(file, dict):
        path = file.get("path") or file.get("name")
        original = file.get("orig_name") or (Path(path).name if path else None)
    else:
        path = getattr(file, "path", None) or getattr(file, "name", None) or file
        original = getattr(file, "orig_name", None)
    if not path:
        raise InvalidInput("no file given")
    path = Path(str(path))
    return path, str(original or path.name)


def import_lora(file: Any, name: str, trigger_word: str = "") -> dict[str, Any]:
    """Import a ``.safetensors`` LoRA (an uploaded file or its path); returns the model dict
    (``lora_id``, ``rank``, ``tensor_count``, ``size_bytes``, ``info.import.metadata``...).

    Raises :class:`media.lora_import.LoraFileError` for pickles (``.ckpt``/``.pt``/``.bin``...), corrupt or
    truncated files and files without LoRA tensors; nothing is stored then.
    """
    path, original = _file_path(file)
    name = display_name(name, "LoRA name") if name and str(name).strip() else Path(original).stem[:NAME_MAX_CHARS]
    lora = catalog.import_lora_file(path, name, trigger_word, original_name=original)
    return catalog.lora_to_dict(lora)


def list_loras() -> list[dict[str, Any]]:
    """Every LoRA model (trained and imported), newest first, as dicts (see ``lora_to_dict``)."""
    return [catalog.lora_to_dict(lora) for lora in catalog.list_lora_rows()]


def delete_lora(lora_id: str) -> dict[str, Any]:
    """Delete a LoRA and its files; returns ``{deleted: lora_id}``."""
    catalog.delete_lora(lora_id)
    return {"deleted": lora_id}
