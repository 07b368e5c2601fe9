"""The ``fal`` face-swap provider: fal.ai's video face-swap endpoint through fal-client (needs ``FAL_KEY``).

Contract (fal model page of ``half-moon-ai/ai-face-swap/faceswapvideo``, see ``shared/design/contracts.md``):
input ``source_face_url`` (the face image), ``target_video_url`` (the video; up to 25 min, fps capped at 25
by fal); output ``{video: File{url, ...}, warning?, processing_time_ms?}``. The endpoint id is the
setting ``NOVAI_FAL_SWAP_ENDPOINT``. fal publishes no price for it where we looked, so the Swapper's
cost row uses its own price setting with ``billed_seconds`` (the output duration) from here.

Why no Picsi.ai provider: the studio's original design named Picsi.ai (InsightFaceSwap), but it is a
Discord bot and publishes no public HTTP API contract, so there is nothing to implement against.

Options: fal's endpoint swaps the face it picks itself; ``SwapOptions.face_selection`` other than
``one`` (or a face mapping) is not offered by the endpoint and is reported as a warning, not silently ignored.
"""

from __future__ import annotations

from pathlib import Path

from jobs import fal
from jobs.swap_providers.base import SwapContext, SwapRequest, SwapResult
from media.probe import MediaError, probe
from media.settings import get_settings


class FalSwapProvider:
    """Cloud face swap on fal.ai (see the module docstring). Progress: upload 0-10 %, queue 10-20 %,
    processing 20-90 % (from fal's ``n/total`` logs when it writes them), download 90-100 %."""

    name = "fal"
    needs_key = True

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = endpoint or get_settings().fal_swap_endpoint

    def swap(self, request: SwapRequest, context: SwapContext) -> SwapResult:
        """Upload, submit, follow, download to ``request.out_path`` (atomically); returns the result.

        Raises :class:`jobs.fal.FalError` with a clear message on any fal failure (missing key, HTTP
        error, COMPLETED with an error, malformed result, timeout); ``JobCanceled`` raised by
        ``context.progress`` cancels the fal request and propagates. No file is left at ``out_path``
        unless the swap succeeded.
        """
        client = fal.get_client()
        context.progress(1, "uploading the face image to fal")
        face_url = fal.upload_file(client, Path(request.face_image_path))
        context.progress(4, "uploading the video to fal")
        video_url = fal.upload_file(client, Path(request.video_path))
        context.progress(10, "submitting to fal")
        handle = fal.submit(client, self.endpoint, {"source_face_url": face_url, "target_video_url": video_url})
        context.external(handle.request_id, "IN_QUEUE")
        result = fal.follow(handle, lambda update: self._report(update, handle.request_id, context),
                            endpoint=self.endpoint)
        url = fal.result_url(result, "video", self.endpoint)
        context.progress(90, "downloading the swapped video")
        out_path = Path(request.out_path)
        try:
            fal.download(url, out_path)
            info = probe(out_path)
        except MediaError as exc:
            out_path.unlink(missing_ok=True)
            raise fal.FalError(f"{self.endpoint} returned a file that is not a playable video: {exc}") from exc
        except BaseException:
            out_path.unlink(missing_ok=True)
            raise
        warnings = self._warnings(request, result)
        context.progress(100, "swapped on fal")
        return SwapResult(out_path=out_path, frames_total=info.frame_count, frames_swapped=info.frame_count,
                          warnings=warnings, billed_seconds=info.duration_s)

    def _report(self, update: fal.QueueUpdate, request_id: str, context: SwapContext) -> None:
        context.external(request_id, update.status)
        if update.status == "IN_QUEUE":
            context.progress(12, f"waiting in fal's queue (position {update.position})")
        elif update.status == "IN_PROGRESS":
            fraction = update.fraction if update.fraction is not None else 0.0
            last = update.new_logs[-1] if update.new_logs else "swapping on fal"
            context.progress(20 + 70 * fraction, last[:200])
        else:
            context.progress(90, "finished on fal")

    @staticmethod
    def _warnings(request: SwapRequest, result: dict) -> list[str]:
        warnings = []
        if result.get("warning"):
            warnings.append(f"fal: {result['warning']}")
        if request.options.face_selection != "one":
            warnings.append(f"fal's endpoint picks the face itself; face selection "
                            f"'{request.options.face_selection}' was not applied")
        return warnings
