"""Character diagram jobs: submit (validate, create rows, enqueue) and the Huey task that makes one.

Flow: :func:`create_character` checks the input, adds a ``pending`` ``character_diagrams`` row and a
``character`` job (``reference_id`` = the diagram), and enqueues :func:`character_task`. The task finds
the face in the source photo (no face: the job fails and no provider is called), asks the provider,
records the cost of a paid call, stores the image (also as a library ``images`` row) and completes the
job with ``output_payload["result_ids"] = [diagram_id]``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from jobs.character_providers import get_provider, provider_names
from jobs.character_providers.base import CharacterRequest
from jobs.providers import Provider
from jobs.providers import get_provider as registry_provider
from jobs.queue import huey
from jobs.recovery import register_recovery
from jobs.runner import UserFacingError, register_end_handler, register_task, run_job, submit
from media import job_store, library
from media.characters import catalog
from media.characters.images import check_image_file
from media.costs import SpendHold, spend_reservation
from media.errors import InvalidInput, NotFound
from media.models import Job
from media.store import abs_path

JOB_TYPE = "character"
MAX_NOTES_LEN = 1000


def _registry_entry(provider: str) -> Provider:
    """The registry's ``character`` provider ``provider``; raises ``ValueError`` naming the known ones or
    the key variables to set when it needs a key that is not configured."""
    known = provider_names()
    if provider not in known:
        raise InvalidInput(f"unknown character provider {provider!r}; choose one of {', '.join(known)}")
    spec = registry_provider("character", provider)
    if not spec.configured():
        raise InvalidInput(f"the {provider} provider needs {' or '.join(spec.key_variables)}; set it in .env "
                           "(or save a key in Settings) or choose the local provider")
    return spec


def _check_request(image_id: str, name: str, provider: str, notes: str) -> tuple[str, str]:
    """Validate a request; returns the cleaned name and notes. Raises ``ValueError``/``LookupError``."""
    _registry_entry(provider)
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES_LEN:
        raise InvalidInput(f"notes too long ({len(notes)} characters; at most {MAX_NOTES_LEN})")
    image = catalog.get_library_image(image_id)
    if not abs_path(image.file).is_file():
        raise NotFound(f"the file of library image {image.name!r} is missing")
    return catalog.clean_name(name), notes


def _enqueue(diagram_id: str, image_id: str, provider: str, hold: SpendHold | None = None) -> dict[str, Any]:
    # image_id in the input lets the Library refuse to delete the photo while the job runs.
    job = job_store.create_job(JOB_TYPE, {"character_id": diagram_id, "image_id": image_id,
                                          "provider": provider}, reference_id=diagram_id)
    if hold is not None:
        hold.attach(job.id)
    submit(job.id, character_task)
    return {"job_id": job.id, "character_id": diagram_id}


def create_character(image_id: str, name: str, provider: str = "local", notes: str = "") -> dict[str, Any]:
    """Start a character diagram job from library image ``image_id``.

    Returns ``{"job_id", "character_id"}``. Raises ``ValueError`` (empty name, unknown provider,
    a provider without its key, notes too long) or ``LookupError`` (no such image) before any job exists.
    A paid provider's character (gemini) reserves its registry price (one image) against the daily limit in the same transaction
    as the check (``media.costs.spend_reservation``): past the limit ``SpendLimitExceeded`` (a
    ValueError), nothing made.
    """
    clean, notes = _check_request(image_id, name, provider, notes)
    price = registry_provider("character", provider).estimate_cents({}, {})  # one image, whole cents
    if price <= 0:
        diagram = catalog.create_pending_diagram(clean, image_id, provider, notes)
        return _enqueue(diagram.id, image_id, provider)
    with spend_reservation(JOB_TYPE, price) as hold:
        diagram = catalog.create_pending_diagram(clean, image_id, provider, notes)
        return _enqueue(diagram.id, image_id, provider, hold)


def regenerate_character(character_id: str, provider: str | None = None) -> dict[str, Any]:
    """A new job making a new diagram from the same source, name and notes (the old one is kept
    until deleted). Returns ``{"job_id", "character_id"}`` of the new diagram."""
    old = catalog.get_diagram(character_id)
    if not old.source_image_id:
        raise InvalidInput(f"character {old.name!r} was imported, not made from a photo; nothing to regenerate")
    chosen = provider or (old.provider if old.provider in provider_names() else "local")
    return create_character(old.source_image_id, old.name, chosen, old.notes)


def generate_character(job_id: str, diagram_id: str) -> dict[str, Any]:
    """The work of one job (see the module docstring). Returns the job's output payload."""
    from media.face.landmarks import detect_faces, load_rgb  # mediapipe loads only in workers

    def progress(percent: float, message: str) -> None:
        job_store.report_progress(job_id, percent, message)

    diagram = catalog.update_diagram(diagram_id, status="processing", error_message=None)
    source = catalog.get_library_image(diagram.source_image_id or "")
    progress(5, "finding the face in the photo")
    photo = load_rgb(abs_path(source.file))
    faces = detect_faces(photo, max_faces=1)
    if not faces:
        raise UserFacingError(f"no face found in {source.name!r}: choose a photo where one face is clearly "
                              "visible, facing the camera")
    provider = get_provider(diagram.provider)
    request = CharacterRequest(photo=photo, face=faces[0], name=diagram.name, notes=diagram.notes,
                               made_on=date.today())
    result = provider.generate(request, progress)
    cents = round(result.cost_cents)
    if result.cost_cents > 0:
        job_store.record_cost(job_id, JOB_TYPE, cents,
                              f"{diagram.provider} {result.model}: 1 image for character {diagram.name!r}")
    progress(92, "storing the diagram")
    stored = catalog.store_diagram_image(diagram_id, result.image_bytes, cost_cents=cents)
    return {"result_ids": [diagram_id], "character_id": diagram_id, "image_id": stored.image_id,
            "provider": diagram.provider, "model": result.model, "model_text": result.text,
            "cost_cents": cents}


def _mark_failed(diagram_id: str, message: str) -> None:
    try:
        catalog.update_diagram(diagram_id, status="failed", error_message=message)
    except catalog.CharacterNotFound:
        pass  # deleted while the job ran


@huey.task()
def character_task(job_id: str) -> str:
    """Huey task: run :func:`generate_character` for the diagram named by the job's input (so the
    Jobs tab's Retry can run it again) at the job boundary; returns the final job status."""
    diagram_id = job_store.get_job(job_id).input_payload["character_id"]
    return run_job(job_id, lambda: generate_character(job_id, diagram_id),
                   on_failure=lambda message: _mark_failed(diagram_id, message),
                   on_cancel=lambda: _mark_failed(diagram_id, "canceled"))


register_task(JOB_TYPE, character_task)
register_end_handler(JOB_TYPE, lambda _job, _status, message, payload: _mark_failed(payload["character_id"],
                                                                                   message or "canceled"))


def _recover(job: Job) -> bool:
    """An interrupted character job is not re-run (a Gemini call may already be billed): its diagram
    is marked failed and the job fails with the recovery message; Regenerate starts it again."""
    if job.reference_id:
        _mark_failed(job.reference_id, "interrupted: the studio stopped while this character was being made")
    return False


register_recovery(JOB_TYPE, _recover)


def list_characters() -> list[dict[str, Any]]:
    """Every character, newest first, as plain dicts (see ``catalog.diagram_to_dict``)."""
    return [catalog.diagram_to_dict(d) for d in catalog.list_diagrams()]


def rename_character(character_id: str, name: str) -> dict[str, Any]:
    """Rename a character (and its library image); returns its dict."""
    return catalog.diagram_to_dict(catalog.rename_diagram(character_id, name))


def delete_character(character_id: str) -> dict[str, Any]:
    """Delete a character's rows and files; returns ``{"deleted": character_id}``.

    A job still making it is canceled first. Raises ``CharacterNotFound``.
    """
    catalog.get_diagram(character_id)
    for job in job_store.list_jobs(statuses=("pending", "queued", "processing"), job_type=JOB_TYPE,
                                   limit=1000):
        if job.reference_id == character_id:
            job_store.cancel_job(job.id)
    catalog.delete_diagram(character_id)
    return {"deleted": character_id}


def import_character(path: str, name: str) -> dict[str, Any]:
    """Add an existing diagram image as a character directly (no job); returns its dict."""
    return catalog.diagram_to_dict(catalog.import_diagram(Path(path), name))


def upload_source_photo(path: str, name: str = "") -> dict[str, Any]:
    """Add an uploaded photo to the library as a source image; returns ``{"image_id", "name"}``.

    Checked by content (``media.characters.images.check_image_file``: an image, at most
    ``NOVAI_MAX_IMAGE_UPLOAD_MB``) and stored through the Library (``media.library.import_file``).
    Raises ``ImageFileError`` / ``LibraryError`` naming the file.
    """
    check_image_file(Path(path))
    label = " ".join((name or "").split()) or Path(path).stem
    outcome = library.import_file(path, "image", name=label)
    if outcome.error or not outcome.id:
        raise library.LibraryError(outcome.error or f"could not add {label} to the library")
    return {"image_id": outcome.id, "name": label}
