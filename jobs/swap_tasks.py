"""Face-swap jobs: one Huey task per source video (``create_swap_job``), run by a provider from
:mod:`jobs.swap_providers`, ending as a ``face_swapped`` library video.

Everything a creator can get wrong is checked before anything is queued: the videos and the face image
exist, the provider is known and installed, a cloud provider's key is set, and the face image holds a
face. The job's ``output_payload`` holds ``result_ids`` (the new library video ids), ``warnings`` and
frame counts. A video in which no frame has a face completes with a warning and no library video.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from jobs.providers import get_provider, providers
from jobs.queue import huey
from jobs.recovery import register_recovery
from jobs.runner import UserFacingError, register_task, run_job, submit
from jobs.swap_providers import ProviderUnavailable, check_provider_name, load_provider, missing_key
from jobs.swap_providers.base import (
    FACE_SELECTION_ALIASES,
    FaceSelection,
    SwapContext,
    SwapOptions,
    SwapRequest,
    SwapResult,
)
from media import job_store, store
from media.costs import SpendLimitExceeded, spend_reservations
from media.library import LibraryError, get_item, register_file
from media.models import Image, Job, Video
from media.swap_catalog import diagram_of_image

if TYPE_CHECKING:
    import numpy as np

    from media.face.preview import FramePreview

log = logging.getLogger(__name__)

JOB_TYPE = "face_swap"
FACE_SELECTIONS: tuple[str, ...] = get_args(FaceSelection)
OPTION_KEYS = ("face_selection", "reference_point", "reference_time_s", "source_face_index", "face_mapping",
               "swap_model", "enhancer", "enhancer_blend", "ai_label")
MAX_MAPPED_FACES = 10


def _offline_providers() -> tuple[str, ...]:
    """Swap providers that need no key account (re-run from the start after a restart): the registry's."""
    return tuple(p.id for p in providers("swap") if p.key_setting is None)


def _price_cents_per_second(provider: str) -> float:
    """The registry's price in force of swap ``provider``, cents per output second (0 when free)."""
    return get_provider("swap", provider).current_price().cents_per_unit


def parse_options(options: dict[str, Any] | None) -> SwapOptions:
    """Check the ``options`` dict of :func:`create_swap_job` and build :class:`SwapOptions`.

    Keys: ``face_selection`` (one | many | reference; the older names largest and all are read as one
    and many), ``reference_point`` ([x, y] pixels of the source frame; required for reference without a
    mapping), ``reference_time_s`` (>= 0), ``source_face_index`` (int >= 0, 0 = the largest face of the
    face image), ``face_mapping`` ([[source face index, target face index], ...]: source faces onto the
    numbered faces (0 = largest) of the frame at reference_time_s; sets reference), ``swap_model`` (onnx engine model, "" = the setting),
    ``enhancer`` (face enhancer model, "" = none, absent = the setting), ``enhancer_blend`` (0..1),
    ``ai_label`` (bool: the visible "AI-generated" label). Raises UserFacingError naming the bad key.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise UserFacingError(f"unknown swap option(s): {', '.join(unknown)} (known: {', '.join(OPTION_KEYS)})")
    selection = options.get("face_selection") or "one"
    selection = FACE_SELECTION_ALIASES.get(selection, selection)
    if selection not in FACE_SELECTIONS:
        raise UserFacingError(f"face_selection must be one of {', '.join(FACE_SELECTIONS)}, not {selection!r}")
    point = options.get("reference_point")
    if point is not None:
        try:
            x, y = (float(v) for v in point)
        except (TypeError, ValueError):
            raise UserFacingError("reference_point must be two numbers [x, y] in pixels") from None
        if x < 0 or y < 0:
            raise UserFacingError("reference_point must lie inside the frame (x, y >= 0)")
        point = (x, y)
    mapping = _parse_mapping(options.get("face_mapping"))
    if mapping:
        selection = "reference"
    if selection == "reference" and point is None and not mapping:
        raise UserFacingError("face_selection 'reference' needs reference_point [x, y] (pixels of the frame) "
                              "or a face_mapping")
    try:
        time_s = float(options.get("reference_time_s") or 0.0)
        index = int(options.get("source_face_index") or 0)
    except (TypeError, ValueError):
        raise UserFacingError("reference_time_s must be a number and source_face_index an integer") from None
    if time_s < 0 or index < 0:
        raise UserFacingError("reference_time_s and source_face_index must not be negative")
    swap_model = str(options.get("swap_model") or "")
    from media.face.onnx_models import SWAP_MODEL_INFO
    from media.model_store import ENHANCER_MODELS

    if swap_model and swap_model not in SWAP_MODEL_INFO:
        raise UserFacingError(f"swap_model must be one of {', '.join(SWAP_MODEL_INFO)}, not {swap_model!r}")
    enhancer = options.get("enhancer")
    if enhancer is not None:
        enhancer = "" if enhancer in ("", "none") else str(enhancer)
        if enhancer and enhancer not in ENHANCER_MODELS:
            raise UserFacingError(f"enhancer must be one of none, {', '.join(ENHANCER_MODELS)}, not {enhancer!r}")
    blend = options.get("enhancer_blend")
    if blend is not None:
        try:
            blend = float(blend)
        except (TypeError, ValueError):
            raise UserFacingError("enhancer_blend must be a number from 0 to 1") from None
        if not 0.0 <= blend <= 1.0:
            raise UserFacingError(f"enhancer_blend must be from 0 to 1, not {blend}")
    label = options.get("ai_label")
    if label is not None and not isinstance(label, bool):
        raise UserFacingError("ai_label must be true or false")
    return SwapOptions(face_selection=selection, reference_point=None if mapping else point,
                       reference_time_s=time_s, source_face_index=index, face_mapping=mapping, swap_model=swap_model, enhancer=enhancer, enhancer_blend=blend,
                       ai_label=label)


def _parse_mapping(value: Any) -> tuple[tuple[int, int], ...]:
    """``face_mapping`` as (source, target) index pairs; UserFacingError for anything else."""
    if value in (None, "", []):
        return ()
    try:
        pairs = tuple((int(a), int(b)) for a, b in value)
        exact = all(float(a) == int(a) and float(b) == int(b) for a, b in value)
    except (TypeError, ValueError):
        raise UserFacingError("face_mapping must be a list of [source face, target face] number pairs") from None
    if not exact or any(a < 0 or b < 0 for a, b in pairs):
        raise UserFacingError("face_mapping face numbers must be whole numbers >= 0 (0 = the largest face)")
    if len(pairs) > MAX_MAPPED_FACES:
        raise UserFacingError(f"face_mapping maps at most {MAX_MAPPED_FACES} faces, not {len(pairs)}")
    targets = [b for _, b in pairs]
    if len(set(targets)) != len(targets):
        raise UserFacingError("face_mapping names a target face twice: each target face takes one source face")
    return pairs


def mapping_from_text(text: str) -> list[list[int]]:
    """A face mapping typed as ``"1>2, 2>1"`` (face of the image > face of the reference frame, both
    numbered from 1, largest first) as ``face_mapping`` pairs numbered from 0. Raises UserFacingError
    quoting the part it cannot read."""
    pairs = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        source, sep, target = part.partition(">")
        try:
            a, b = int(source.strip()), int(target.strip())
        except ValueError:
            a = b = 0
        if not sep or a < 1 or b < 1:
            raise UserFacingError(f"face mapping: cannot read {part!r}; write image face > video face, e.g. 1>2")
        pairs.append([a - 1, b - 1])
    return pairs


def _options_payload(options: SwapOptions) -> dict[str, Any]:
    payload = {"face_selection": options.face_selection,
               "reference_point": list(options.reference_point) if options.reference_point else None,
               "reference_time_s": options.reference_time_s, "source_face_index": options.source_face_index,
               "swap_model": options.swap_model}
    if options.face_mapping:
        payload["face_mapping"] = [list(pair) for pair in options.face_mapping]
    for key in ("enhancer", "enhancer_blend", "ai_label"):
        if getattr(options, key) is not None:
            payload[key] = getattr(options, key)
    return payload


def _check_provider(provider: str, options: SwapOptions | None = None) -> None:
    """Known name, key present (checked first: the fix a creator needs first), module loadable, and what
    the provider itself needs for these options (a downloaded model) present."""
    try:
        check_provider_name(provider)
    except ValueError as exc:
        raise UserFacingError(str(exc)) from exc
    variable = missing_key(provider)
    if variable:
        raise UserFacingError(f"the {provider} provider needs an API key: set {variable} in the environment "
                              "(or .env) and restart the studio, or use the offline 'local' provider")
    try:
        loaded = load_provider(provider)
    except ProviderUnavailable as exc:
        raise UserFacingError(str(exc)) from exc
    check = getattr(loaded, "check", None)
    if check is not None:
        check(options or SwapOptions())


def _stored_file(rel: str | None, what: str) -> Path:
    path = store.abs_path(rel) if rel else None
    if path is None or not path.is_file():
        raise UserFacingError(f"the file of {what} is missing from the media folder")
    return path


def _get(kind: str, item_id: str) -> Video | Image | None:
    try:
        return get_item(kind, item_id)
    except LibraryError:
        return None


def create_swap_job(video_ids: list[str], face_image_id: str, provider: str = "local",
                    options: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Queue one face-swap job per source video; returns ``{"job_ids": [...]}`` in ``video_ids`` order.

    Raises UserFacingError (nothing queued) when: no video is given or one does not exist, the face image
    does not exist or holds no face, the provider is unknown, not installed or lacks its key, or an option
    is invalid.
    """
    if isinstance(video_ids, str):
        video_ids = [video_ids]
    video_ids = list(dict.fromkeys(v for v in (video_ids or []) if v))
    if not video_ids:
        raise UserFacingError("pick at least one source video")
    if not face_image_id:
        raise UserFacingError("pick a face image")
    swap_options = parse_options(options)
    provider = provider or "local"
    _check_provider(provider, swap_options)
    videos = {vid: _get("video", vid) for vid in video_ids}
    missing = [vid for vid, row in videos.items() if row is None]
    if missing:
        raise UserFacingError(f"no library video with id {', '.join(missing)}")
    for video in videos.values():
        _stored_file(video.file, f"video {video.name}")
    image = _get("image", face_image_id)
    if image is None:
        raise UserFacingError(f"no library image with id {face_image_id}")
    _check_face_image(_stored_file(image.file, f"image {image.name}"), load_provider(provider), swap_options)
    price = _price_cents_per_second(provider)
    # A paid swap holds its estimate (price per second x source seconds, rounded up) per job against the
    # daily limit, all jobs or none (media.costs.spend_reservations); free providers hold nothing.
    estimates = [math.ceil(price * videos[v].duration_s) for v in video_ids] if price > 0 else []
    try:
        with spend_reservations(JOB_TYPE, estimates) as holds:
            job_ids = []
            for number, video_id in enumerate(video_ids):
                payload = {"video_id": video_id, "face_image_id": face_image_id, "provider": provider,
                           "options": _options_payload(swap_options)}
                job = job_store.create_job(JOB_TYPE, payload, reference_id=video_id)
                if holds:
                    holds[number].attach(job.id)
                submit(job.id, swap_video_task)
                job_ids.append(job.id)
    except SpendLimitExceeded as exc:
        raise UserFacingError(str(exc)) from exc
    return {"job_ids": job_ids}


def _check_face_image(path: Path, provider: Any, options: SwapOptions) -> None:
    """The provider's own face check (``check_face_image(path, options)``, e.g. the offline engines': the
    face image holds every face number the options use) when it has one; otherwise (a cloud provider
    picks the face itself) only the image must open, so the fal path never loads the local face engine
    (MediaPipe). Raises UserFacingError."""
    own_check = getattr(provider, "check_face_image", None)
    if own_check is not None:
        own_check(path, options)
        return
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as img:
            img.verify()
    except (OSError, UnidentifiedImageError):
        raise UserFacingError(f"the face image {path.name} is not a readable image") from None


def preview_swap(video_id: str, face_image_id: str, time_s: float = 0.0,
                 options: dict[str, Any] | None = None) -> FramePreview:
    """Before/after of one frame of library video ``video_id`` at ``time_s`` seconds with the face of
    image ``face_image_id`` (local engine, nothing queued). Raises UserFacingError like
    :func:`create_swap_job`."""
    swap_options = parse_options(options)
    video, image = _get("video", video_id), _get("image", face_image_id)
    if video is None or image is None:
        raise UserFacingError("pick a library video and a face image first")
    from jobs.swap_providers.local import LocalSwapProvider

    try:
        return LocalSwapProvider().preview(_stored_file(video.file, f"video {video.name}"),
                                           _stored_file(image.file, f"image {image.name}"),
                                           max(float(time_s), 0.0), swap_options)
    except ValueError as exc:
        raise UserFacingError(str(exc)) from exc


FACES_PREVIEW_SIDE = 1280  # pixels: the longer side of the numbered faces image shown in the Swapper


def faces_of_image(face_image_id: str) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The faces of library image ``face_image_id``, so a creator can pick which one a swap uses: (the
    image, H x W x 3 uint8, at most FACES_PREVIEW_SIDE pixels on its longer side, with each face's box
    numbered from 1, largest first, as "Face of the image" and the face mapping number them; the boxes
    (x, y, w, h) in the returned image's pixels, in that order). No
    face gives the plain image and no boxes. Raises UserFacingError when the image is not in the library,
    its file is missing or it does not decode."""
    from jobs.swap_providers.local import MAX_SOURCE_FACES
    from media.face.landmarks import detect_faces, load_rgb
    from media.face.preview import numbered_faces

    image = _get("image", face_image_id)
    if image is None:
        raise UserFacingError("pick a face image from the library first")
    path = _stored_file(image.file, f"image {image.name}")
    try:
        rgb = load_rgb(path)
    except ValueError as exc:
        raise UserFacingError(f"the image {image.name} cannot be read: {exc}") from exc
    faces = detect_faces(rgb, max_faces=MAX_SOURCE_FACES)
    scale = min(1.0, FACES_PREVIEW_SIDE / max(rgb.shape[:2]))
    if scale < 1.0:  # a phone photo would be sent to the browser at full size otherwise
        import cv2

        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    boxes = [tuple(round(v * scale) for v in face.box) for face in faces]
    return numbered_faces(rgb, boxes), boxes


def face_number_at(boxes: list[tuple[int, int, int, int]], point: tuple[float, float]) -> int:
    """The number (1 = largest) of the face among ``boxes`` (from :func:`faces_of_image`) that a click at
    ``point`` (x, y pixels of the image) picks: the smallest box holding it, else the nearest box centre.
    Raises UserFacingError when there are no boxes."""
    from media.face.selection import box_at_point

    if not boxes:
        raise UserFacingError("no face found in this image: pick another face image")
    return 1 + box_at_point(boxes, point)


@huey.task()
def swap_video_task(job_id: str) -> None:
    """Huey task: run face-swap job ``job_id`` (see :func:`run_swap`)."""
    status = run_job(job_id, lambda: run_swap(job_id))
    if status == "completed":
        output = job_store.get_job(job_id).output_payload
        if output.get("warnings"):
            job_store.update_job(job_id, message="; ".join(output["warnings"]))


def _context(job_id: str) -> SwapContext:
    return SwapContext(
        progress=lambda percent, message: job_store.report_progress(job_id, percent, message),
        external=lambda request_id, status: job_store.update_job(
            job_id, external_request_id=request_id, external_status=status),
    )


def _record_cost(job_id: str, provider: str, result: SwapResult, video_name: str) -> None:
    price = _price_cents_per_second(provider)
    if price <= 0 or result.billed_seconds <= 0:
        return
    cents = math.ceil(price * result.billed_seconds)  # whole cents, rounded up
    job_store.record_cost(job_id, JOB_TYPE, cents, f"face swap ({provider}), {result.billed_seconds:.1f} s "
                          f"of output at {price:g} cents/s: {video_name}")


def run_swap(job_id: str) -> dict[str, Any]:
    """The work of one face-swap job; returns its output payload (see the module docstring)."""
    payload = job_store.get_job(job_id).input_payload
    video, image = _get("video", payload["video_id"]), _get("image", payload["face_image_id"])
    if video is None or image is None:
        raise UserFacingError("the source video or the face image was deleted from the library")
    provider_name = payload.get("provider", "local")
    provider = load_provider(provider_name)
    options = parse_options(payload.get("options"))
    video_path = _stored_file(video.file, f"video {video.name}")
    face_path = _stored_file(image.file, f"image {image.name}")
    with store.work_dir("swap-") as tmp:
        request = SwapRequest(video_path, face_path, tmp / "swapped.mp4", options, job_id=job_id)
        result = provider.swap(request, _context(job_id))
        _record_cost(job_id, provider_name, result, video.name)
        output: dict[str, Any] = {"result_ids": [], "warnings": list(result.warnings), "provider": provider_name,
                                  "frames_total": result.frames_total, "frames_swapped": result.frames_swapped}
        if result.frames_total > 0 and result.frames_swapped == 0:
            return output  # no face anywhere: a warning, not a copy in the library
        job_store.check_canceled(job_id)  # canceled while the file was being finished: keep nothing
        output["result_ids"] = [_add_to_library(result.out_path, video, image)]
    return output


def _add_to_library(out: Path, video: Video, image: Image) -> str:
    """Move the result into the library and catalog it (probed, thumbnailed); returns the video id.

    The row is a ``face_swapped`` video with ``parent_video_id``, ``face_image_id`` and, for a character
    diagram, ``character_diagram_id``, in the source video's collection.
    """
    name = f"{Path(video.name).stem} - face {Path(image.name).stem}.mp4"
    dest = store.commit_file(out, store.new_file_path("videos", name, ".mp4"))
    try:
        row = register_file(dest, "video", name, type="face_swapped", parent_video_id=video.id,
                            face_image_id=image.id, character_diagram_id=diagram_of_image(image),
                            collection_id=video.collection_id)
    except Exception:
        dest.unlink(missing_ok=True)
        raise
    return row.id


def _recover(job: Job) -> bool:
    """Re-queue an interrupted offline swap from the start (nothing was billed); cloud swaps fail."""
    if job.input_payload.get("provider", "local") not in _offline_providers():
        return False
    submit(job.id, swap_video_task)
    return True


register_recovery(JOB_TYPE, _recover)
register_task(JOB_TYPE, swap_video_task)
