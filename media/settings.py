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
    queue_url: str = Field(
        default="",
        description="queue storage: empty = SQLite file in data_dir; 'redis://host:port/db' = Redis",
    )
    # Variant output (see media/canonical.py for the canonical 9:16 format these feed).
    output_crf: int = Field(default=20, ge=0, le=51, description="x264 CRF of rendered video")
    output_preset: str = Field(default="veryfast", description="x264 preset of rendered video")
    batch_ttl_hours: float = Field(default=24.0, gt=0, description="variant batch expiry")
    cartesian_cap: int = Field(default=500, ge=1, description="max variants a cartesian batch may make")
    max_upload_mb: int = Field(default=2048, ge=1, description="largest accepted upload, MiB")
    # Cloud providers.
    fal_key: str = Field(default="", repr=False, validation_alias=AliasChoices("FAL_KEY", "NOVAI_FAL_KEY"))
    fal_base_url: str = Field(default="", description="override every fal host (tests, proxies)")
    gemini_api_key: str = Field(
        default="", repr=False,
        validation_alias=AliasChoices("GOOGLE_API_KEY", "GEMINI_API_KEY", "NOVAI_GEMINI_API_KEY"),
    )
    gemini_base_url: str = Field(default="", description="override the Gemini API base URL")
    daily_cost_limit_cents: int | None = Field(
        default=None,
        validation_alias=AliasChoices("DAILY_COST_LIMIT_CENTS", "NOVAI_DAILY_COST_LIMIT_CENTS"),
    )

    @property
    def media_dir(self) -> Path:
        """Folder holding every stored file (uploads, renders, thumbnails)."""
        return self.data_dir / "media"

    @property
    def catalog_path(self) -> Path:
        """SQLite file of the SQLModel catalog."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def queue_path(self) -> Path:
        """SQLite file of the Huey queue (when ``queue_url`` is empty)."""
        return self.data_dir / "queue.sqlite3"


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
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    from media.keys import apply_saved_keys  # keys saved in Settings fill what the environment leaves empty

    apply_saved_keys(settings)
    return settings


def reset_settings() -> None:
    """Forget cached settings (tests change ``NOVAI_*`` variables between cases)."""
    get_settings.cache_clear()
