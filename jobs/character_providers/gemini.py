"""``gemini``: a character reference sheet drawn by a Gemini image model, through the google-genai SDK.

Wire contract (shared/design/contracts.md, checked against google-genai 3.4.0):
``POST {base}/{v1|v1beta}/models/{model}:generateContent`` with header ``x-goog-api-key``; the photo
goes up as an ``inlineData`` part and the sheet comes back as an ``inlineData`` part
(``candidates[0].content.parts[i].inline_data.data``, decoded bytes). Errors are
``{"error": {"code", "message", "status"}}`` bodies, raised by the SDK as ``errors.ClientError`` (4xx)
or ``errors.ServerError`` (5xx). Retries of 408/429/5xx and timeouts use the SDK's own
``HttpRetryOptions`` (tenacity, exponential backoff with jitter); nothing is retried by hand.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import httpx
from google import genai
from google.genai import errors, types
from PIL import Image

from jobs.character_providers.base import CharacterRequest, CharacterResult, ProgressFn
from jobs.runner import UserFacingError
from media.settings import Settings, get_settings

try:  # google-genai 3.x sends through httpx2 when it is installed, else httpx
    import httpx2

    _HTTP_MODULES: tuple = (httpx, httpx2)
except ImportError:  # pragma: no cover - depends on the environment
    _HTTP_MODULES = (httpx,)

TIMEOUT_ERRORS: tuple[type[Exception], ...] = tuple(m.TimeoutException for m in _HTTP_MODULES)
TRANSPORT_ERRORS: tuple[type[Exception], ...] = tuple(m.TransportError for m in _HTTP_MODULES)

# Status codes the SDK retries (its own default set, google/genai/_api_client.py _RETRY_HTTP_STATUS_CODES).
RETRY_STATUS_CODES: tuple[int, ...] = (408, 429, 500, 502, 503, 504)
MAX_UPLOAD_SIDE_PX = 2048

PROMPT = (
    "Create a character reference sheet of the person in this photo, on one image with a plain light "
    "background. Show the same person, with exactly the same identity, face, skin tone, hair and build "
    "throughout: a full front view, a three-quarter view, a profile view, a close-up of the face, and "
    "three facial expressions (neutral, smiling, surprised). Keep the views evenly spaced and aligned, "
    "evenly lit, with no text other than small view labels."
)


class GeminiError(UserFacingError):
    """A Gemini call that failed in a way the creator can act on (key, quota, safety, timeout)."""


@dataclass(frozen=True)
class GeminiConfig:
    """Connection settings. ``timeout_s`` is per HTTP attempt; ``attempts`` counts the first try;
    retry waits grow from ``initial_delay_s`` (x2 per try, plus up to ``jitter_s`` random seconds)."""

    api_key: str
    model: str = "gemini-3.1-flash-image"
    base_url: str = ""
    api_version: str = "v1beta"
    timeout_s: float = 120.0
    attempts: int = 4
    initial_delay_s: float = 2.0
    jitter_s: float = 1.0
    aspect_ratio: str = "16:9"
    price_cents: float = 7.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> GeminiConfig:
        """Read every field from the studio settings (``NOVAI_GEMINI_*``, ``GOOGLE_API_KEY``)."""
        s = settings or get_settings()
        return cls(api_key=s.gemini_api_key, model=s.gemini_image_model, base_url=s.gemini_base_url,
                   api_version=s.gemini_api_version, timeout_s=s.gemini_timeout_s,
                   attempts=s.gemini_retry_attempts, initial_delay_s=s.gemini_retry_initial_delay_s,
                   aspect_ratio=s.gemini_aspect_ratio,
                   price_cents=_registry_price(s))


def _registry_price(settings: Settings) -> float:
    """Cents per image in force: the registry's ``character/gemini`` price table with its settings
    override for the configured model (jobs/providers/character_gemini.py)."""
    from jobs.providers import get_provider

    return get_provider("character", "gemini").current_price(settings).cents_per_unit


def price_per_image_cents(model: str, table: dict[str, float]) -> float:
    """Cents per generated image for ``model`` from the price table; an unlisted model gets the
    table's highest price (spend is never under-counted); an empty table gives 0."""
    if model in table:
        return float(table[model])
    return float(max(table.values(), default=0.0))


def build_prompt(notes: str) -> str:
    """The sheet prompt, with the creator's notes (outfit, style) appended when given."""
    notes = notes.strip()
    return f"{PROMPT} Creator's notes: {notes}" if notes else PROMPT


def encode_photo(photo) -> bytes:
    """RGB uint8 array -> JPEG bytes (quality 92), long side at most ``MAX_UPLOAD_SIDE_PX`` pixels."""
    image = Image.fromarray(photo).convert("RGB")
    image.thumbnail((MAX_UPLOAD_SIDE_PX, MAX_UPLOAD_SIDE_PX), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def make_client(config: GeminiConfig) -> genai.Client:
    """A google-genai client for the Gemini API (not Vertex) with timeout and retry options."""
    retry = types.HttpRetryOptions(attempts=config.attempts, initial_delay=config.initial_delay_s,
                                   max_delay=max(config.initial_delay_s * 8, 1.0), jitter=config.jitter_s,
                                   http_status_codes=list(RETRY_STATUS_CODES))
    http = types.HttpOptions(base_url=config.base_url or None, api_version=config.api_version,
                             timeout=int(config.timeout_s * 1000), retry_options=retry)
    return genai.Client(api_key=config.api_key, vertexai=False, http_options=http)


def explain_api_error(exc: errors.APIError, config: GeminiConfig) -> str:
    """One line naming what went wrong, from the error body's code, status and message."""
    detail = f"{exc.code} {exc.status or ''}".strip() + (f": {exc.message}" if exc.message else "")
    message = (exc.message or "").lower()
    if exc.code in (401, 403) or (exc.code == 400 and "api key" in message):
        return (f"Gemini refused the API key ({detail}). Check GOOGLE_API_KEY / GEMINI_API_KEY in the "
                "Settings tab or .env.")
    if exc.code == 429:
        return (f"Gemini rate limit or quota exceeded after {config.attempts} tries ({detail}). "
                "Wait a minute or check the project's quota and billing.")
    if exc.code >= 500:
        return f"Gemini server error after {config.attempts} tries ({detail}). Try again later."
    return f"Gemini rejected the request ({detail})."


def extract_image(response: types.GenerateContentResponse) -> tuple[bytes, str]:
    """The first image part's bytes and the model's text; raises :class:`GeminiError` when the
    answer holds no image (prompt blocked, finish reason such as SAFETY, or text only)."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = getattr(feedback.block_reason, "value", feedback.block_reason)
        extra = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
        raise GeminiError(f"Gemini blocked the request ({reason}){extra}")
    candidates = response.candidates or []
    if not candidates:
        raise GeminiError("Gemini returned no candidates and no image")
    candidate = candidates[0]
    parts = (candidate.content.parts if candidate.content else None) or []
    texts = [p.text.strip() for p in parts if p.text and p.text.strip()]
    for part in parts:
        if part.inline_data is not None and part.inline_data.data:
            return part.inline_data.data, " ".join(texts)
    reason = getattr(candidate.finish_reason, "value", candidate.finish_reason) or "unknown"
    said = f": {' '.join(texts)}" if texts else (
        f": {candidate.finish_message}" if candidate.finish_message else "")
    raise GeminiError(f"Gemini returned no image (finish reason {reason}){said}")


class GeminiCharacterProvider:
    """Character sheet drawn by Gemini from the photo: front, three-quarter, profile, close-up and a few
    expressions. Needs ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``; costs about 4-7 US cents per image."""

    name = "gemini"
    needs_key = True
    description = ("Gemini draws a new reference sheet from the photo: front, three-quarter and profile "
                   "views, a face close-up and a few expressions (views it invents). Needs a Gemini API "
                   "key; each image is billed.")

    def __init__(self, config: GeminiConfig | None = None) -> None:
        self.config = config or GeminiConfig.from_settings()

    def generate(self, request: CharacterRequest, progress: ProgressFn) -> CharacterResult:
        """Send the photo and prompt; return the sheet. Raises :class:`GeminiError`."""
        config = self.config
        if not config.api_key:
            raise GeminiError("the gemini provider needs GOOGLE_API_KEY or GEMINI_API_KEY; "
                              "set it in .env or use the local provider")
        contents = [build_prompt(request.notes),
                    types.Part.from_bytes(data=encode_photo(request.photo), mime_type="image/jpeg")]
        generation = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=config.aspect_ratio))
        progress(20, f"asking Gemini ({config.model})")
        client = make_client(config)
        try:
            response = client.models.generate_content(model=config.model, contents=contents,
                                                      config=generation)
        except errors.APIError as exc:
            raise GeminiError(explain_api_error(exc, config)) from exc
        except TIMEOUT_ERRORS as exc:
            raise GeminiError(
                f"Gemini did not answer within {config.timeout_s:g} s ({config.attempts} tries). "
                "Try again later or raise NOVAI_GEMINI_TIMEOUT_S.") from exc
        except TRANSPORT_ERRORS as exc:
            where = config.base_url or "the Gemini API"
            raise GeminiError(f"could not reach {where}: {exc.__class__.__name__}: {exc}") from exc
        finally:
            client.close()
        image_bytes, text = extract_image(response)
        progress(85, "Gemini answered with an image")
        return CharacterResult(image_bytes=image_bytes, cost_cents=config.price_cents,
                               model=config.model, text=text)
