"""The catalog's SQLModel tables, after the studio's design (``shared/design/original-architecture.md``).

Keys are UUID4 strings. File columns hold paths relative to the media folder (``media/store.py``
resolves them), so the data folder can move. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal, get_args

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

CollectionType = Literal["video", "audio", "image"]
VideoType = Literal["source", "face_swapped", "variant"]
JobStatus = Literal["pending", "queued", "processing", "completed", "failed", "canceled"]
BatchStatus = Literal["queued", "running", "completed", "completed_with_errors", "failed", "canceled", "expired"]
VariantStatus = Literal["pending", "queued", "processing", "completed", "failed", "canceled"]
LoraStatus = Literal["pending", "training", "ready", "failed"]
DiagramStatus = Literal["pending", "processing", "ready", "failed"]

ACTIVE_JOB_STATUSES: tuple[str, ...] = ("pending", "queued", "processing")
FINAL_JOB_STATUSES: tuple[str, ...] = ("completed", "failed", "canceled")
ALL_JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)


def new_id() -> str:
    """A fresh UUID4 key as a 32-character hex string."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (SQLModel refuses naive datetimes)."""
    return datetime.now(timezone.utc)


def _json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))


class Collection(SQLModel, table=True):
    __tablename__ = "collections"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(index=True)
    type: str = Field(index=True, description="video | audio | image")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Video(SQLModel, table=True):
    __tablename__ = "videos"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    type: str = Field(default="source", index=True, description="source | face_swapped | variant")
    collection_id: str | None = Field(default=None, foreign_key="collections.id", index=True)
    parent_video_id: str | None = Field(default=None, foreign_key="videos.id")
    character_diagram_id: str | None = Field(default=None, foreign_key="character_diagrams.id")
    face_image_id: str | None = Field(default=None, foreign_key="images.id")
    batch_id: str | None = Field(default=None, foreign_key="variant_batches.id", index=True)
    kept: bool = Field(default=False, description="a variant moved into the library survives expiry")
    file: str
    thumbnail: str | None = None
    duration_s: float = 0.0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    has_audio: bool = False
    video_codec: str = ""
    audio_codec: str = ""
    rotation: int = 0
    size_bytes: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AudioFile(SQLModel, table=True):
    __tablename__ = "audio_files"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    collection_id: str | None = Field(default=None, foreign_key="collections.id", index=True)
    file: str
    duration_s: float = 0.0
    sample_rate: int = 0
    channels: int = 0
    codec: str = ""
    size_bytes: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Hook(SQLModel, table=True):
    __tablename__ = "hooks"
    id: str = Field(default_factory=new_id, primary_key=True)
    text: str
    category: str = Field(default="", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Image(SQLModel, table=True):
    __tablename__ = "images"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    collection_id: str | None = Field(default=None, foreign_key="collections.id", index=True)
    character_diagram_id: str | None = Field(default=None, description="set when the image is a diagram")
    file: str
    thumbnail: str | None = None
    width: int = 0
    height: int = 0
    format: str = ""
    size_bytes: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LoraModel(SQLModel, table=True):
    __tablename__ = "lora_models"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    trigger_word: str = ""
    status: str = Field(default="pending", description="pending | training | ready | failed")
    source: str = Field(default="trained", description="trained | imported")
    training_images_file: str | None = None
    training_steps: int = 0
    weights_file: str | None = None
    high_noise_file: str | None = None
    config_file: str | None = None
    thumbnail: str | None = None
    rank: int | None = None
    tensor_count: int = 0
    size_bytes: int = 0
    info: dict = _json_column()
    cost_cents: int = 0
    error_message: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class CharacterDiagram(SQLModel, table=True):
    __tablename__ = "character_diagrams"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    source_image_id: str | None = Field(default=None, foreign_key="images.id")
    image_id: str | None = Field(default=None, description="the diagram as a library image")
    file: str | None = None
    thumbnail: str | None = None
    provider: str = "local"
    notes: str = ""
    status: str = Field(default="pending", description="pending | processing | ready | failed")
    cost_cents: int = 0
    error_message: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    id: str = Field(default_factory=new_id, primary_key=True)
    type: str = Field(index=True, description="variant | variant_zip | face_swap | character | lora_train ...")
    reference_id: str | None = Field(default=None, index=True, description="the row the job works on")
    status: str = Field(default="pending", index=True)
    progress: int = Field(default=0, ge=0, le=100)
    message: str = Field(default="", description="current step, shown beside the progress bar")
    external_request_id: str | None = None
    external_status: str | None = None
    task_id: str | None = Field(default=None, description="Huey task id (for revoke)")
    input_payload: dict = _json_column()
    output_payload: dict = _json_column()
    error_message: str | None = None
    cost_cents: int = 0
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    completed_at: datetime | None = None


class CostRecord(SQLModel, table=True):
    __tablename__ = "cost_records"
    id: str = Field(default_factory=new_id, primary_key=True)
    job_id: str | None = Field(default=None, foreign_key="jobs.id", index=True)
    job_type: str
    amount_cents: int
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow, index=True)


class VariantBatch(SQLModel, table=True):
    __tablename__ = "variant_batches"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = ""
    status: str = Field(default="queued", index=True)
    total: int = 0
    options: dict = _json_column()
    zip_file: str | None = None
    zip_job_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(default_factory=utcnow, index=True)
    completed_at: datetime | None = None


class Variant(SQLModel, table=True):
    """One planned output of a batch: variant number ``index`` (j, 0-based over the batch)."""

    __tablename__ = "variants"
    id: str = Field(default_factory=new_id, primary_key=True)
    batch_id: str = Field(foreign_key="variant_batches.id", index=True)
    index: int
    video_id: str = Field(foreign_key="videos.id")
    audio_id: str | None = Field(default=None, foreign_key="audio_files.id")
    hook_id: str | None = Field(default=None, foreign_key="hooks.id")
    job_id: str | None = Field(default=None, foreign_key="jobs.id")
    output_video_id: str | None = Field(default=None, foreign_key="videos.id")
    status: str = Field(default="pending")
    error: str | None = None
    file_name: str = ""
    render_path: str = Field(default="", description="fast (hook window) | full | copy")
    # Snapshot of what the variant used, so the manifest survives library edits.
    snapshot: dict = _json_column()


class LoraDataset(SQLModel, table=True):
    """A LoRA training dataset: prepared images + ``.txt`` captions under ``folder`` and their ZIP.

    ``items``: one dict per image, ``{file, caption, source_name, source_image_id, width, height,
    faces, phash, warnings}`` (``file`` relative to ``folder``). ``warnings``: dataset-level messages.
    """

    __tablename__ = "lora_datasets"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = ""
    trigger_word: str = ""
    caption_template: str = ""
    resolution: int = 1024
    crop: str = Field(default="square", description="square | keep")
    is_person: bool = True
    folder: str = ""
    zip_file: str | None = None
    thumbnail: str | None = None
    count: int = 0
    items: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    warnings: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SpendReservation(SQLModel, table=True):
    """A paid job's estimate held against the daily limit from submission until the job ends.

    ``status``: ``held`` (counts against the limit while its job is active) -> ``settled`` (the job
    completed; ``settled_cents`` = the cost it recorded) or ``released`` (failed, canceled, refused).
    ``job_id`` is a plain column, not a foreign key: the reservation is made before the job row exists.
    """

    __tablename__ = "spend_reservations"
    id: str = Field(default_factory=new_id, primary_key=True)
    tool: str
    job_id: str | None = Field(default=None, index=True)
    estimate_cents: int
    settled_cents: int | None = None
    status: str = Field(default="held", index=True, description="held | settled | released")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    ended_at: datetime | None = None


class SpendLock(SQLModel, table=True):
    """One row locked (``SELECT ... FOR UPDATE``) to serialise spend checks on server databases."""

    __tablename__ = "spend_lock"
    id: int = Field(default=1, primary_key=True)


class Transcript(SQLModel, table=True):
    """Words spoken in one audio or video, by content (sha256 of the file) and speech-to-text model."""

    __tablename__ = "transcripts"
    id: str = Field(default_factory=new_id, primary_key=True)
    content_hash: str = Field(index=True, description="sha256 of the transcribed file's bytes")
    model: str = Field(description="ASR model name or folder")
    media_id: str | None = Field(default=None, index=True, description="library item, when there is one")
    words: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list),
                        description='[{"word", "start_s", "end_s"}], in time order')
    text: str = ""
    language: str = ""
    edited: bool = Field(default=False, description="a creator corrected words (timings kept)")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class BatchWebhook(SQLModel, table=True):
    """A batch's completion notice (issue 14): POSTed once to ``url`` when the batch finishes.

    ``status``: pending (batch running) | sending | delivered | failed; ``attempts``: POSTs tried;
    ``last_error``: the last failure (HTTP status or connection error); ``response_status``: last HTTP code.
    """

    __tablename__ = "batch_webhooks"
    batch_id: str = Field(foreign_key="variant_batches.id", primary_key=True)
    url: str
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    response_status: int | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class StoredSetting(SQLModel, table=True):
    """A setting saved from the UI (provider keys, the daily limit) as JSON under ``name``, kept in the
    catalog so that every process and machine of a farm reads the same value at job time."""

    __tablename__ = "stored_settings"
    name: str = Field(primary_key=True)
    value: dict = _json_column()
    updated_at: datetime = Field(default_factory=utcnow)
