"""Animate (image to video) jobs: a library image or character diagram becomes a short 9:16 source video
on fal (providers of tool ``animate`` in :mod:`jobs.providers`: ``lucy14b``, ``kling21``).

:func:`estimate_animation` gives the cost first; :func:`create_animation` checks everything, reserves the
estimate against the daily limit (``media.costs.spend_reservation``), then queues one job. The task crops
the image to 9:16 (centre), uploads it, submits (or re-attaches after a restart), follows, downloads, and
catalogs a ``generated`` library video whose ``face_image_id`` is the parent image (and
``character_diagram_id`` its diagram, when it is one); the cost lands in ``cost_records``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageOps

from jobs import fal
from jobs.fal_jobs import run_request
from jobs.providers import get_provider
from jobs.queue import huey
from jobs.recovery import register_recovery
from jobs.runner import register_task, run_job, submit
from media import job_store, store
from media.costs import spend_reservation
from media.errors import InvalidInput, NotFound
from media.library import LibraryError, get_item, register_file
from media.models import Image, Job
from media.swap_catalog import diagram_of_image

JOB_TYPE = "animate"
MAX_PROMPT_CHARS = 2000
ASPECT = (9, 16)


def _image(image_id: str) -> Image:
    try:
        image = get_item("image", image_id)
    except LibraryError:
        raise NotFound(f"no library image with id {image_id}") from None
    if not store.abs_path(image.file).is_file():
        raise NotFound(f"the file of image {image.name} is missing from the media folder")
    return image


def _prompt(prompt: str) -> str:
    prompt = " ".join(str(prompt or "").split())
    if not prompt:
        raise InvalidInput("prompt: describe the motion (e.g. 'she smiles and turns to the camera')")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"prompt is {len(prompt)} characters, over the {MAX_PROMPT_CHARS} limit")
    return prompt


def estimate_animation(provider: str = "lucy14b", options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cost before starting: ``{provider, label, estimate_cents, duration_s, price_source}``.

    ``options``: ``duration_s`` (seconds; allowed values per provider: lucy14b 5, kling21 5 or 10).
    Raises :class:`media.errors.InvalidInput` for an unknown provider or option.
    """
    chosen = get_provider("animate", provider)
    checked = chosen.check_options(options)
    return {"provider": chosen.id, "label": chosen.label, "estimate_cents": chosen.estimate_cents(checked),
            "duration_s": checked["duration_s"], "price_source": chosen.current_price().source}


def create_animation(image_id: str, prompt: str, provider: str = "lucy14b",
                     options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Queue an Animate job; returns ``{job_id, estimate_cents}``.

    ``image_id``: a library image (a character diagram's image too); ``prompt``: the motion, up to 2000
    characters; ``options``: ``duration_s``. The estimate is reserved against the daily limit before
    anything is queued. Raises :class:`InvalidInput` / :class:`NotFound` (bad prompt, option, provider,
    unknown image), :class:`jobs.fal.FalError` (no FAL_KEY), ``SpendLimitExceeded`` (over the limit).
    """
    chosen = get_provider("animate", provider)
    checked = chosen.check_options(options)
    text = _prompt(prompt)
    image = _image(image_id)
    fal.require_key()
    estimate = chosen.estimate_cents(checked)
    with spend_reservation(JOB_TYPE, estimate) as hold:
        job = job_store.create_job(JOB_TYPE, {"image_id": image.id, "prompt": text, "provider": chosen.id,
                                              "options": checked, "estimate_cents": estimate},
                                   reference_id=image.id)
        hold.attach(job.id)
        submit(job.id, animate_task)
    return {"job_id": job.id, "estimate_cents": estimate}


def crop_to_portrait(src: Path, dest: Path) -> Path:
    """Centre-crop an image to 9:16 (EXIF rotation applied) and save it as PNG at ``dest``."""
    with PILImage.open(src) as raw:
        img = ImageOps.exif_transpose(raw).convert("RGB")
    width, height = img.size
    if width * ASPECT[1] > height * ASPECT[0]:  # too wide: keep the full height
        new_w = height * ASPECT[0] // ASPECT[1]
        box = ((width - new_w) // 2, 0, (width - new_w) // 2 + new_w, height)
    else:
        new_h = width * ASPECT[1] // ASPECT[0]
        box = (0, (height - new_h) // 2, width, (height - new_h) // 2 + new_h)
    img.crop(box).save(dest, "PNG")
    return dest


def run_animation(job_id: str) -> dict[str, Any]:
    """The work of one Animate job; returns ``{result_ids: [video_id], request_id, cost_cents}``."""
    payload = job_store.get_job(job_id).input_payload
    chosen = get_provider("animate", payload["provider"])
    image = _image(payload["image_id"])
    options = {**payload["options"], "prompt": payload["prompt"]}
    with store.work_dir("animate-") as tmp:
        def uploads(client) -> dict[str, str]:
            job_store.report_progress(job_id, 2, "cropping the image to 9:16 and uploading it to fal")
            portrait = crop_to_portrait(store.abs_path(image.file), tmp / "portrait.png")
            return {"image": fal.upload_file(client, portrait)}

        out, info, request_id = run_request(job_id, chosen, uploads, options, tmp / "animated.mp4")
        cost = chosen.current_price().cents(chosen.billed_units(payload["options"], {"video_s": info.duration_s}))
        job_store.record_cost(job_id, JOB_TYPE, cost, f"{chosen.label}: {payload['options']['duration_s']} s "
                              f"video from image {image.name}")
        job_store.check_canceled(job_id)
        name = f"{Path(image.name).stem} - animated.mp4"
        dest = store.commit_file(out, store.new_file_path("videos", name, ".mp4"))
        row = register_file(dest, "video", name, type="generated", face_image_id=image.id,
                            character_diagram_id=diagram_of_image(image), collection_id=image.collection_id)
    return {"result_ids": [row.id], "request_id": request_id, "cost_cents": cost, "provider": chosen.id}


@huey.task()
def animate_task(job_id: str) -> str:
    """Huey task: run Animate job ``job_id`` (see :func:`run_animation`)."""
    return run_job(job_id, lambda: run_animation(job_id))


def _recover(job: Job) -> bool:
    """After a restart: re-queue; the task re-attaches to the stored fal request instead of paying again."""
    submit(job.id, animate_task)
    return True


register_recovery(JOB_TYPE, _recover)
register_task(JOB_TYPE, animate_task)
