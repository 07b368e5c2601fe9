"""The ``local`` face-swap provider: offline, no key, no download.

Decode (FFmpeg process) -> track landmarks and swap each frame (this thread) -> encode H.264 + AAC
(FFmpeg process), the three overlapping (:mod:`media.video_pipes`). The engine is :mod:`media.face`:
MediaPipe landmarks, Delaunay mesh warp, colour transfer and Poisson cloning, One Euro smoothing.
Frames without a face are written unchanged. The source's audio is stream-copied (re-encoded to AAC
when it is another codec); the output keeps the source's size, frame rate and frame count.

Every output is marked synthetic (:mod:`media.face.disclosure`): the MP4 description tag, and the visible
"AI-generated" label unless turned off. A face enhancer (:mod:`media.face.onnx_swap`, a model downloaded
in Settings > Models) can run on each swapped face; the ``onnx`` provider reuses this pipeline with a
learned swap model (:mod:`jobs.swap_providers.onnx_swap`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from jobs.runner import UserFacingError
from jobs.swap_providers.base import SwapContext, SwapOptions, SwapRequest, SwapResult
from media.face.disclosure import AiLabel, metadata_tags
from media.face.embedding import MATCH_DISTANCE, default_embedder, embedder
from media.face.landmarks import Face, detect_faces, load_rgb
from media.face.preview import FramePreview, preview_swap
from media.face.selection import video_reference_embeddings
from media.face.swapper import prepare_source, swap_face
from media.face.tracking import DETECT_EVERY, FaceTracker
from media.settings import get_settings
from media.stage import Stage
from media.video_pipes import FrameReader, FrameWriter, read_video_format

# Seconds between progress reports (each is a catalog write and a cancellation check).
PROGRESS_INTERVAL_S = 0.25
MAX_SOURCE_FACES = 10


def pick_source_faces(path: Path, indices: Sequence[int] = (0,)) -> tuple[np.ndarray, list[Face]]:
    """The face image's RGB array and its faces number ``indices`` (0 = largest), in that order.

    A character sheet works as any image: its faces are found wherever they are on the sheet (the
    close-up is its largest), and only the face itself is ever used (:mod:`media.face.swapper`).
    Raises UserFacingError when the image holds no face or fewer than ``max(indices) + 1`` faces, and
    ValueError when it is not an image.
    """
    rgb = load_rgb(path)
    faces = detect_faces(rgb, max_faces=MAX_SOURCE_FACES)
    if not faces:
        raise UserFacingError(f"no face found in the face image {path.name}: pick a photo where one face is "
                              "clearly visible")
    for index in indices:
        if not 0 <= index < len(faces):
            raise UserFacingError(f"the face image {path.name} holds {len(faces)} face(s); face number "
                                  f"{index + 1} does not exist")
    return rgb, [faces[index] for index in indices]


def pick_source_face(path: Path, index: int = 0) -> tuple[np.ndarray, Face]:
    """The face image's RGB array and its face number ``index`` (see :func:`pick_source_faces`)."""
    rgb, [face] = pick_source_faces(path, (index,))
    return rgb, face


def source_face_indices(options: SwapOptions) -> list[int]:
    """The face image's faces a job uses, one per source slot: the mapping's sources, else the one
    ``source_face_index``."""
    return [source for source, _target in options.face_mapping] or [options.source_face_index]


def make_tracker(video: Path, options: SwapOptions, fps: float, detect_every: int = DETECT_EVERY) -> FaceTracker:
    """The :class:`FaceTracker` for ``options``; for ``reference`` and a mapping the reference faces are
    found first in the frame at ``options.reference_time_s`` (InvalidInput when they are not there)."""
    if options.face_selection != "reference":
        return FaceTracker(fps, selection=options.face_selection, detect_every=detect_every)
    kind = default_embedder()
    embed = embedder(kind)
    references = video_reference_embeddings(video, options.reference_time_s, embed, options.reference_point,
                                            [target for _source, target in options.face_mapping])
    return FaceTracker(fps, "reference", references=references, embed=embed, match_distance=MATCH_DISTANCE[kind],
                       detect_every=detect_every)


class LocalSwapProvider:
    """Offline face swap (see the module docstring)."""

    name = "local"
    needs_key = False

    def check_face_image(self, path: Path, options: SwapOptions) -> None:
        """Before queueing: the face image holds every face the options use (:func:`pick_source_faces`)."""
        pick_source_faces(path, source_face_indices(options))

    def __init__(self, blend: str | None = None, detect_every: int | None = None) -> None:
        settings = get_settings()
        self.blend = blend or settings.swap_blend
        self.detect_every = detect_every or settings.swap_detect_every
        self.crf = settings.output_crf
        self.preset = settings.output_preset

    def check(self, options: SwapOptions) -> None:
        """Raise a StudioError naming what is missing (e.g. a model to download) before a job is queued."""
        enhancer = self._enhancer(options)
        if enhancer:
            from media.face.onnx_swap import check_enhancer

            check_enhancer(enhancer)

    def _enhancer(self, options: SwapOptions) -> str:
        return get_settings().swap_enhancer if options.enhancer is None else options.enhancer

    def face_swapper(self, rgb: np.ndarray, face: Face, options: SwapOptions):
        """A function ``(frame, landmarks) -> None`` that swaps one face of a frame in place."""
        source = prepare_source(rgb, face)
        blend = self.blend
        return lambda frame, landmarks: swap_face(frame, source, landmarks, blend)

    def _face_work(self, rgb: np.ndarray, face: Face, options: SwapOptions):
        swap_one = self.face_swapper(rgb, face, options)
        enhancer = self._enhancer(options)
        if not enhancer:
            return swap_one
        from media.face.onnx_swap import enhance_face

        amount = get_settings().swap_enhancer_blend if options.enhancer_blend is None else options.enhancer_blend

        def swap_and_enhance(frame: np.ndarray, landmarks: np.ndarray) -> None:
            swap_one(frame, landmarks)
            enhance_face(frame, enhancer, landmarks, amount)

        return swap_and_enhance

    def swap(self, request: SwapRequest, context: SwapContext) -> SwapResult:
        """Write the swapped video to ``request.out_path``; see :class:`SwapProvider`."""
        # One OpenCV thread per swap: the frame work is a pipeline stage beside two FFmpeg processes, and
        # on few cores OpenCV's own thread pool costs more than it gains (measured: 17 vs 26 ms CPU per
        # 720p face). Process-wide; parallel jobs each get a worker thread anyway.
        cv2.setNumThreads(1)
        self.check(request.options)
        rgb, faces = pick_source_faces(request.face_image_path, source_face_indices(request.options))
        works = [self._face_work(rgb, face, request.options) for face in faces]
        fmt = read_video_format(request.video_path)
        tracker = make_tracker(request.video_path, request.options, float(fmt.rate), self.detect_every)
        try:
            total, swapped = self._run(request, context, works, tracker, fmt)
        except BaseException:
            request.out_path.unlink(missing_ok=True)
            raise
        warnings = []
        if swapped == 0:
            warnings.append(f"no face found in any frame of {request.video_path.name}; nothing was swapped")
        return SwapResult(out_path=request.out_path, frames_total=total, frames_swapped=swapped,
                          warnings=warnings)

    def preview(self, video: Path, face_image: Path, time_s: float, options: SwapOptions) -> FramePreview:
        """Before/after of the frame of ``video`` at ``time_s`` seconds swapped as a job with ``options``
        would (faces chosen the same way; no enhancer, no label). Raises UserFacingError/InvalidInput."""
        rgb, faces = pick_source_faces(face_image, source_face_indices(options))
        works = [self.face_swapper(rgb, face, options) for face in faces]
        tracker = make_tracker(video, options, 30.0, self.detect_every)
        return preview_swap(video, time_s, tracker, works)

    def _run(self, request: SwapRequest, context: SwapContext, works, tracker: FaceTracker,
             fmt) -> tuple[int, int]:
        expected = fmt.frame_count or 0
        total = swapped = 0
        last_report = 0.0
        show_label = get_settings().swap_ai_label if request.options.ai_label is None else request.options.ai_label
        label = AiLabel(fmt.width, fmt.height) if show_label else None
        context.progress(0, f"swapping {request.video_path.name}")
        # Three threads and two processes overlap: FFmpeg decodes, the tracking stage finds landmarks of
        # frame n+1 while this thread swaps frame n, and FFmpeg encodes.
        with FrameReader(request.video_path, fmt) as reader, \
                Stage(lambda frame: (frame, tracker.update_targets(frame)), reader, name="face-tracking") as tracked, \
                FrameWriter(request.video_path, request.out_path, fmt, self.crf, self.preset,
                            metadata=metadata_tags(request.job_id)) as writer:
            for frame, targets in tracked:
                for landmarks, slot in targets:
                    works[slot](frame, landmarks)
                swapped += bool(targets)
                if label is not None:
                    label.apply(frame)
                writer.write(frame)
                total += 1
                now = time.monotonic()
                if now - last_report >= PROGRESS_INTERVAL_S:
                    last_report = now
                    percent = 99.0 * total / expected if expected else 0.0
                    context.progress(min(percent, 99.0), f"frame {total}/{expected or '?'}")
            context.progress(99, "finishing the file")
            writer.finish()
        return total, swapped
