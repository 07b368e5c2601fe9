"""LoRA training on fal (``fal-ai/wan-22-image-trainer``) as a Huey job that survives a studio restart.

Contract (fal model page; ``shared/design/contracts.md``): input ``training_data_url`` (ZIP of image +
``.txt`` caption pairs), ``trigger_phrase``, ``steps`` (1000), ``learning_rate`` (0.0007), ``is_style``
(false), ``use_face_detection`` (true), ``use_face_cropping`` (false), ``use_masks`` (true),
``include_synthetic_captions`` (false); output Files ``diffusers_lora_file`` (low-noise LoRA),
``high_noise_lora``, ``config_file``. Price: $0.0045 per step, 100 steps minimum (registry: jobs/providers/lora_fal.py).

Flow of a ``lora_train`` job: upload the dataset ZIP -> submit -> store the fal request id on the job
(``external_request_id``) -> follow the queue into the job's progress -> download the three files ->
model row ``ready`` + a cost row. After a restart, :func:`recover_training` re-queues the job and the
task re-attaches to the stored request id instead of submitting again. Canceling the job cancels the fal
request. An optional test image (``fal-ai/wan/v2.2-a14b/text-to-image/lora``) becomes the thumbnail.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from jobs import fal
from jobs.queue import huey
from jobs.recovery import register_recovery
from jobs.runner import UserFacingError, register_end_handler, register_task, run_job, submit
from media import job_store
from media import lora_catalog as catalog
from media.costs import SpendHold, SpendLimitExceeded, spend_reservation
from media.db import session_scope
from media.errors import InvalidInput
from media.lora_import import LoraFileError, inspect_lora_file
from media.models import Job, LoraDataset, LoraModel, utcnow
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

log = logging.getLogger(__name__)

TRAIN_JOB = "lora_train"
TRAINING_STEPS_MIN, TRAINING_STEPS_MAX = 10, 20000  # bounds of a training run, steps
TEST_IMAGE_JOB = "lora_test_image"
RESULT_FILES = ("diffusers_lora_file", "high_noise_lora", "config_file")


@dataclass(frozen=True)
class TrainOptions:
    """Training settings sent to fal (defaults = fal's documented defaults) plus ``test_image``
    (generate one sample image with the finished LoRA as its thumbnail)."""

    steps: int = 1000
    learning_rate: float = 0.0007
    is_style: bool = False
    use_face_detection: bool = True
    use_face_cropping: bool = False
    use_masks: bool = True
    include_synthetic_captions: bool = False
    test_image: bool = False

    @classmethod
    def from_dict(cls, options: dict | None) -> TrainOptions:
        """Options from an API dict; raises ValueError naming an unknown key or a bad value."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidInput(f"unknown training option(s): {', '.join(unknown)}")
        result = cls(**options)
        if (isinstance(result.steps, bool) or not isinstance(result.steps, int)
                or not TRAINING_STEPS_MIN <= result.steps <= TRAINING_STEPS_MAX):
            raise InvalidInput(f"steps must be a whole number {TRAINING_STEPS_MIN}..{TRAINING_STEPS_MAX}, "
                               f"got {result.steps!r}")
        if not 0 < float(result.learning_rate) <= 0.01:
            raise InvalidInput(f"learning_rate must be in (0, 0.01], got {result.learning_rate!r}")
        return result

    def fal_arguments(self, training_data_url: str, trigger_phrase: str) -> dict[str, Any]:
        """The trainer's input JSON (exact field names of the fal endpoint)."""
        return {"training_data_url": training_data_url, "trigger_phrase": trigger_phrase,
                "steps": self.steps, "learning_rate": float(self.learning_rate), "is_style": self.is_style,
                "use_face_detection": self.use_face_detection, "use_face_cropping": self.use_face_cropping,
                "use_masks": self.use_masks, "include_synthetic_captions": self.include_synthetic_captions}


def estimate_training_cents(steps: int) -> int:
    """Estimated fal cost in cents of a training of ``steps`` steps (the registry's ``lora`` provider price,
    jobs/providers/lora_fal.py, with its settings override)."""
    from jobs.providers import get_provider

    return get_provider("lora", "fal").estimate_cents({}, {"steps": float(steps)})


def start_training(dataset_id: str, name: str, options: dict | None = None) -> dict[str, Any]:
    """Validate, create the model row and the ``lora_train`` job, enqueue it.

    Returns ``{job_id, lora_id, estimate_cents}``. Raises :class:`jobs.fal.FalError` without ``FAL_KEY``,
    ValueError for bad options/name, :class:`media.lora_catalog.DatasetNotFound`, UserFacingError past the
    daily cost limit.
    """
    train = TrainOptions.from_dict(options)
    fal.require_key()
    dataset = catalog.get_dataset(dataset_id)
    name = " ".join((name or "").split()) or dataset.trigger_word
    estimate = estimate_training_cents(train.steps)
    try:  # the estimate is held against the daily limit until the job ends (media.costs)
        with spend_reservation(TRAIN_JOB, estimate) as hold:
            return _create_training(dataset, name, train, estimate, hold)
    except SpendLimitExceeded as exc:
        raise UserFacingError(str(exc)) from exc


def _create_training(dataset: LoraDataset, name: str, train: TrainOptions, estimate: int,
                     hold: SpendHold) -> dict[str, Any]:
    """Create the model row and the job (tied to the reservation ``hold``) and enqueue it."""
    lora_thumb = None
    if dataset.thumbnail:
        dest = new_file_path("thumbnails", f"lora_{safe_name(name)}.jpg")
        dest.write_bytes(abs_path(dataset.thumbnail).read_bytes())
        lora_thumb = rel_path(dest)
    lora = LoraModel(name=name, trigger_word=dataset.trigger_word, status="pending", source="trained",
                     training_images_file=dataset.zip_file, training_steps=train.steps, thumbnail=lora_thumb,
                     info={"dataset_id": dataset.id, "options": asdict(train), "estimate_cents": estimate})
    with session_scope() as session:
        session.add(lora)
    job = job_store.create_job(TRAIN_JOB, {"dataset_id": dataset.id, "lora_id": lora.id, "options": asdict(train),
                                           "estimate_cents": estimate}, reference_id=lora.id)
    hold.attach(job.id)
    submit(job.id, lora_train_task)
    return {"job_id": job.id, "lora_id": lora.id, "estimate_cents": estimate}


@huey.task()
def lora_train_task(job_id: str) -> str:
    """Huey task: run (or resume) the training of job ``job_id``; the outcome is on the job row."""
    lora_id = job_store.get_job(job_id).input_payload["lora_id"]

    def failed(message: str) -> None:
        catalog.update_lora(lora_id, status="failed", error_message=message)

    def canceled() -> None:
        job = job_store.get_job(job_id)
        if job.external_request_id:  # e.g. canceled while re-queued after a restart: stop it on fal too
            _cancel_on_fal(job.external_request_id)
        forget_request(job_id)
        failed("training canceled")

    return run_job(job_id, lambda: run_training(job_id), on_failure=failed, on_cancel=canceled)


def forget_request(job_id: str) -> None:
    """Clear the job's fal request id (kept in the model's ``info.request_ids``) so a retry submits anew.

    Called when the request can never succeed (fal reported an error, it timed out and was canceled, or
    the job was canceled). Other failures (network, download) keep the id: a retry re-attaches and only
    fetches the result again, without paying for a second training.
    """
    job = job_store.get_job(job_id)
    lora_id = job.input_payload.get("lora_id")
    if not job.external_request_id:
        return
    if lora_id:
        lora = catalog.get_lora(lora_id)
        ids = [*(lora.info or {}).get("request_ids", []), job.external_request_id]
        catalog.update_lora(lora_id, info={**dict(lora.info or {}), "request_ids": ids})
    job_store.update_job(job_id, external_request_id=None)


def _cancel_on_fal(request_id: str) -> None:
    try:
        fal.cancel(fal.attach(fal.get_client(), get_settings().lora_trainer_endpoint, request_id))
    except fal.FalError:
        pass


class _Progress:
    """Maps fal queue updates to the job row: queue 5-10 %, training 10-88 % (from ``step n/N`` logs)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.status: str | None = None
        self.fraction = 0.0  # never moves back (logs may count epochs and steps alike)

    def __call__(self, update: fal.QueueUpdate) -> None:
        if update.status != self.status:
            self.status = update.status
            job_store.update_job(self.job_id, external_status=update.status)
        if update.status == "IN_QUEUE":
            job_store.report_progress(self.job_id, 6, f"waiting in fal's queue (position {update.position})")
        elif update.status == "IN_PROGRESS":
            self.fraction = max(self.fraction, update.fraction or 0.0)
            text = update.new_logs[-1][:200] if update.new_logs else "training on fal"
            job_store.report_progress(self.job_id, 10 + 78 * self.fraction, text)
        else:
            job_store.report_progress(self.job_id, 88, "training finished on fal")


def _submit_training(job_id: str, client, lora: LoraModel, train: TrainOptions):
    job_store.report_progress(job_id, 1, "uploading the dataset ZIP to fal")
    zip_url = fal.upload_file(client, abs_path(lora.training_images_file))
    job_store.report_progress(job_id, 4, "submitting the training to fal")
    endpoint = get_settings().lora_trainer_endpoint
    handle = fal.submit(client, endpoint, train.fal_arguments(zip_url, lora.trigger_word))
    job_store.update_job(job_id, external_request_id=handle.request_id, external_status="IN_QUEUE")
    return handle


def run_training(job_id: str) -> dict[str, Any]:
    """The work of a ``lora_train`` job: submit (or re-attach), follow, download, mark ready, record cost.

    Returns the job's output payload ``{result_ids: [lora_id], lora_id, request_id, cost_cents, warnings}``.
    """
    job = job_store.get_job(job_id)
    lora = catalog.get_lora(job.input_payload["lora_id"])
    train = TrainOptions.from_dict(job.input_payload.get("options"))
    if lora.status == "ready" and lora.weights_file:  # stopped after storing the weights: nothing left to do
        return {"result_ids": [lora.id], "lora_id": lora.id, "request_id": (lora.info or {}).get("request_id"),
                "cost_cents": 0, "warnings": []}
    endpoint = get_settings().lora_trainer_endpoint
    client = fal.get_client()
    catalog.update_lora(lora.id, status="training", error_message=None)
    if job.external_request_id:
        job_store.report_progress(job_id, 5, f"re-attached to fal request {job.external_request_id}")
        handle = fal.attach(client, endpoint, job.external_request_id)
    else:
        handle = _submit_training(job_id, client, lora, train)
    try:
        result = fal.follow(handle, _Progress(job_id), timeout_s=get_settings().lora_train_timeout_s,
                            endpoint=endpoint)
    except (fal.FalRequestFailed, fal.FalTimeout):
        forget_request(job_id)
        raise
    urls = {key: fal.result_url(result, key, endpoint) for key in RESULT_FILES}
    job_store.report_progress(job_id, 90, "downloading the LoRA weights")
    files = _download_results(lora, urls, endpoint)
    cost = estimate_training_cents(train.steps)
    job_store.record_cost(job_id, TRAIN_JOB, cost, f"fal {endpoint}: {train.steps} steps ({lora.name})")
    info = {**dict(lora.info or {}), "fal_urls": urls, "request_id": handle.request_id,
            "low_noise": files["low_info"], "high_noise": files["high_info"]}
    catalog.update_lora(lora.id, status="ready", weights_file=files["diffusers_lora_file"],
                        high_noise_file=files["high_noise_lora"], config_file=files["config_file"],
                        rank=files["low_info"]["rank"], tensor_count=files["low_info"]["tensor_count"],
                        size_bytes=files["size_bytes"], cost_cents=lora.cost_cents + cost, info=info,
                        completed_at=utcnow(), error_message=None)
    warnings: list[str] = []
    if train.test_image:
        job_store.report_progress(job_id, 95, "generating a test image with the LoRA")
        try:
            make_test_image(lora.id)
        except fal.FalError as exc:
            warnings.append(f"test image failed: {exc}")
    return {"result_ids": [lora.id], "lora_id": lora.id, "request_id": handle.request_id, "cost_cents": cost,
            "warnings": warnings}


def _download_results(lora: LoraModel, urls: dict[str, str], endpoint: str) -> dict[str, Any]:
    """Download the three result files into ``models/<lora_id>/`` (all or nothing) and check the weights."""
    names = {"diffusers_lora_file": f"{safe_name(lora.name)}_low_noise.safetensors",
             "high_noise_lora": f"{safe_name(lora.name)}_high_noise.safetensors",
             "config_file": f"{safe_name(lora.name)}_config.json"}
    out: dict[str, Any] = {}
    with work_dir("lora-dl-") as scratch:
        for key, url in urls.items():
            fal.download(url, scratch / names[key])
        try:
            out["low_info"] = inspect_lora_file(scratch / names["diffusers_lora_file"]).to_dict()
            out["high_info"] = inspect_lora_file(scratch / names["high_noise_lora"]).to_dict()
        except LoraFileError as exc:
            raise fal.FalError(f"{endpoint} returned weights that are not a LoRA: {exc}") from exc
        folder = media_root() / "models" / lora.id
        out["size_bytes"] = sum((scratch / n).stat().st_size for n in names.values())
        for key, file_name in names.items():
            out[key] = rel_path(commit_file(scratch / file_name, folder / file_name))
    return out


def make_test_image(lora_id: str) -> str:
    """Generate one sample with a trained LoRA (high + low noise) and store it as the model's thumbnail.

    Returns the thumbnail's relative path. Raises :class:`jobs.fal.FalError` (missing key, fal error,
    malformed result, not an image) or ValueError for a LoRA without fal weights URLs.
    """
    lora = catalog.get_lora(lora_id)
    urls = (lora.info or {}).get("fal_urls") or {}
    if not urls.get("high_noise_lora") or not urls.get("diffusers_lora_file"):
        raise InvalidInput(f"{lora.name}: test images need a LoRA trained here (Wan 2.2 high + low noise weights)")
    endpoint = get_settings().lora_test_image_endpoint
    client = fal.get_client()
    arguments = {"prompt": f"a portrait photo of {lora.trigger_word}, natural light, detailed face",
                 "loras": [{"path": urls["high_noise_lora"], "scale": 1.0, "transformer": "high"},
                           {"path": urls["diffusers_lora_file"], "scale": 1.0, "transformer": "low"}],
                 "image_size": "square_hd"}
    handle = fal.submit(client, endpoint, arguments)
    result = fal.follow(handle, lambda update: None, endpoint=endpoint)
    if isinstance(result.get("images"), list) and result["images"] and "image" not in result:
        result = {**result, "image": result["images"][0]}
    url = fal.result_url(result, "image", endpoint)
    with work_dir("lora-test-") as scratch:
        tmp = fal.download(url, scratch / "test_image.bin")
        try:
            with Image.open(tmp) as image:
                image.convert("RGB").save(scratch / "test.jpg", "JPEG", quality=90)
        except OSError as exc:
            raise fal.FalError(f"{endpoint} returned a file that is not an image ({exc})") from exc
        dest = commit_file(scratch / "test.jpg", new_file_path("thumbnails", f"lora_test_{safe_name(lora.name)}.jpg"))
    old = lora.thumbnail
    info = {**dict(lora.info or {}), "test_image": rel_path(dest), "test_prompt": arguments["prompt"]}
    catalog.update_lora(lora_id, thumbnail=rel_path(dest), info=info)
    if old and old != rel_path(dest):
        remove_files(old)
    return rel_path(dest)


def start_test_image(lora_id: str) -> dict[str, Any]:
    """Enqueue a ``lora_test_image`` job for a ready trained LoRA; returns ``{job_id}``."""
    fal.require_key()
    lora = catalog.get_lora(lora_id)
    if lora.status != "ready":
        raise InvalidInput(f"{lora.name} is not ready (status {lora.status})")
    job = job_store.create_job(TEST_IMAGE_JOB, {"lora_id": lora_id}, reference_id=lora_id)
    submit(job.id, lora_test_image_task)
    return {"job_id": job.id}


@huey.task()
def lora_test_image_task(job_id: str) -> str:
    """Huey task: generate the test image of the job's LoRA."""
    lora_id = job_store.get_job(job_id).input_payload["lora_id"]

    def work() -> dict[str, Any]:
        job_store.report_progress(job_id, 10, "generating a test image on fal")
        return {"result_ids": [lora_id], "thumbnail": make_test_image(lora_id)}

    return run_job(job_id, work)


def cancel_training(job_id: str) -> Job:
    """Cancel a ``lora_train`` job: the row becomes canceled and the fal request is canceled.

    The running task also stops at its next status poll (and cancels on fal itself); this direct cancel
    covers a job whose worker is not running (e.g. waiting to re-attach after a restart).
    """
    job = job_store.cancel_job(job_id)
    if job.status == "canceled" and job.external_request_id:
        _cancel_on_fal(job.external_request_id)
        forget_request(job_id)
        lora_id = job.input_payload.get("lora_id")
        if lora_id:
            catalog.update_lora(lora_id, status="failed", error_message="training canceled")
    return job


def recover_training(job: Job) -> bool:
    """Recovery handler for ``lora_train`` jobs interrupted by a restart: re-queue the job; the task
    re-attaches to ``external_request_id`` when the request was already submitted."""
    if not job.input_payload.get("lora_id"):
        return False
    submit(job.id, lora_train_task)
    log.info("re-queued LoRA training job %s (fal request %s)", job.id, job.external_request_id)
    return True


register_recovery(TRAIN_JOB, recover_training)
register_task(TRAIN_JOB, lora_train_task)
register_end_handler(TRAIN_JOB, lambda _job, status, message, payload: catalog.update_lora(
    payload["lora_id"], status="failed", error_message=message or f"training {status}"))
register_task(TEST_IMAGE_JOB, lora_test_image_task)

