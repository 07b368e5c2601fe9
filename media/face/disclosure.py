"""Marking swapped videos as synthetic media: a metadata description tag and a visible label.

Platforms ask creators to disclose realistic synthetic media (YouTube's "altered or synthetic content",
TikTok's AI-generated content label, Meta's "AI info"); every swapped video therefore carries the MP4
``description`` tag ``AI-generated: face swap (job <id>)`` and, unless turned off
(``NOVAI_SWAP_AI_LABEL=false`` or the job's ``ai_label`` option), a small visible "AI-generated" label.
"""

from __future__ import annotations

import cv2
import numpy as np

DESCRIPTION = "AI-generated: face swap"
LABEL_TEXT = "AI-generated"
# Label height as a share of the frame's shorter side, and its margin from the corner.
LABEL_HEIGHT = 0.035
LABEL_MARGIN = 0.025


def metadata_tags(job_id: str = "") -> dict[str, str]:
    """Container tags for a swapped video: ``description`` (and ``comment``) naming it synthetic."""
    text = f"{DESCRIPTION} (job {job_id})" if job_id else DESCRIPTION
    return {"description": text, "comment": text}


class AiLabel:
    """The visible label for frames of one size: white text on a translucent dark box in the bottom-left
    corner (inside the 9:16 safe zone's bottom margin), rendered once and blended per frame."""

    def __init__(self, width: int, height: int) -> None:
        text_px = max(int(min(width, height) * LABEL_HEIGHT), 8)
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, text_px, 1)
        thickness = max(text_px // 10, 1)
        (tw, th), base = cv2.getTextSize(LABEL_TEXT, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        pad = max(text_px // 3, 2)
        margin = int(min(width, height) * LABEL_MARGIN)
        w, h = min(tw + 2 * pad, width), min(th + base + 2 * pad, height)
        self.x0, self.y0 = margin, max(height - margin - h, 0)
        self.x1, self.y1 = min(self.x0 + w, width), min(self.y0 + h, height)
        patch = np.zeros((self.y1 - self.y0, self.x1 - self.x0, 3), dtype=np.uint8)
        cv2.putText(patch, LABEL_TEXT, (pad, pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    thickness, cv2.LINE_AA)
        text_alpha = patch[..., 0].astype(np.float32) / 255.0
        self.alpha = np.maximum(text_alpha, 0.55)  # the box at 55 %, the text opaque
        self.patch = patch

    def apply(self, frame: np.ndarray) -> None:
        """Blend the label into ``frame`` (H, W, 3 uint8) in place."""
        roi = frame[self.y0:self.y1, self.x0:self.x1]
        frame[self.y0:self.y1, self.x0:self.x1] = cv2.blendLinear(self.patch, roi, self.alpha, 1.0 - self.alpha)
