"""Cloud provider keys: which are configured, keys entered in the UI, and how they are shown.

A key set in the environment (or the ``.env`` file) always wins. A key entered in Settings is saved in the
catalog (``media.stored_settings``, entry ``provider_keys``), the one place every process of a render farm
reads, and fills the settings field only when the environment leaves it empty. Workers read the settings
afresh when a task starts (``jobs.queue``), so a key saved in the UI reaches them without a restart. A
SQLite catalog holding keys is made owner-only (0600); on PostgreSQL the server's access control applies.
A ``<data_dir>/keys.json`` left by an older studio is moved into the catalog on first read (then removed).
Keys are shown masked (:func:`mask_key`) and never logged in full.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.errors import StudioError
from media.settings import Settings, get_settings, reset_settings

log = logging.getLogger(__name__)

KEYS_FILE_NAME = "keys.json"  # where an older studio saved keys; moved into the catalog
KEYS_SETTING = "provider_keys"
KEY_FILE_MODE = 0o600
MAX_KEY_LENGTH = 512

KeySource = Literal["environment", "saved", "none"]


class KeyStoreError(StudioError, ValueError):
    """A key that cannot be saved (empty, malformed, or already set in the environment)."""


@dataclass(frozen=True)
class Provider:
    """A cloud provider whose key the studio can hold."""

    id: str
    label: str
    env_names: tuple[str, ...]
    field: str


def key_providers() -> dict[str, Provider]:
    """The keys the studio can hold, by account id (``fal``, ``gemini``): the key accounts of the provider
    registry (:func:`jobs.providers.key_accounts`: account, label, key variables, settings field)."""
    from jobs.providers import key_accounts  # the registry reads the settings; imported on use

    return {a.id: Provider(a.id, a.label, a.key_variables, a.key_setting) for a in key_accounts().values()}


@dataclass(frozen=True)
class KeyStatus:
    """What Settings shows for one provider: where its key comes from and the masked key."""

    provider: str
    label: str
    source: KeySource
    masked: str
    env_names: tuple[str, ...]


def get_provider(provider: str) -> Provider:
    """The provider entry; raises :class:`KeyStoreError` naming the known ones."""
    known = key_providers()
    try:
        return known[provider]
    except KeyError:
        raise KeyStoreError(f"unknown provider {provider!r}; known: {', '.join(known)}") from None


def mask_key(key: str) -> str:
    """``key`` with all but its last 4 characters hidden (``••••••••abcd``); short keys fully hidden.

    At most 4 characters and never more than a quarter of the key are shown; '' stays ''.
    """
    if not key:
        return ""
    shown = 4 if len(key) >= 16 else 0
    return "•" * 8 + (key[-shown:] if shown else "")


def keys_file(data_dir: Path | None = None) -> Path:
    """Path of the keys file an older studio kept in the data folder (moved into the catalog)."""
    return (data_dir or get_settings().data_dir) / KEYS_FILE_NAME


def _valid(data: object) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    known = key_providers()
    return {k: v for k, v in data.items() if k in known and isinstance(v, str) and v}


def _catalog(settings: Settings | None = None):
    from media.db import engine_for_url

    return engine_for_url((settings or get_settings()).catalog_url)


def _import_keys_file(data_dir: Path, engine) -> dict[str, str] | None:
    """Move an older studio's ``keys.json`` into the catalog (keys already in the catalog win); None when
    there is no readable file."""
    from media.stored_settings import change_setting

    path = data_dir / KEYS_FILE_NAME
    try:
        old = _valid(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    merged = change_setting(KEYS_SETTING, lambda current: {**old, **_valid(current)}, engine=engine)
    _make_private(engine)
    path.unlink(missing_ok=True)
    log.info("moved the saved keys of %s into the catalog", path)
    return _valid(merged)


def read_saved_keys(settings: Settings | None = None) -> dict[str, str]:
    """Keys saved from the UI, by provider id, from the catalog; {} when there are none.

    Raises ``CatalogUnavailable`` when the catalog cannot be read."""
    from media.stored_settings import read_setting

    settings = settings or get_settings()
    engine = _catalog(settings)
    imported = _import_keys_file(settings.data_dir, engine)
    if imported is not None:
        return imported
    return _valid(read_setting(KEYS_SETTING, engine=engine))


def apply_saved_keys(settings: Settings) -> None:
    """Fill each empty key field of ``settings`` from the keys saved in the catalog (the environment wins).

    A catalog that cannot be read leaves the fields as they are (logged; the studio still starts)."""
    try:
        saved = read_saved_keys(settings)
    except Exception as exc:  # noqa: BLE001 - an unreachable catalog must not stop settings loading
        log.warning("saved keys not read: %s", exc)
        return
    known = key_providers()
    for provider_id, key in saved.items():
        field = known[provider_id].field
        if not getattr(settings, field):
            setattr(settings, field, key)


def environment_key(provider: str) -> str:
    """The provider's key as set in the environment or the ``.env`` file ('' when unset)."""
    return str(getattr(Settings(), get_provider(provider).field) or "")


def _make_private(engine) -> None:
    """A SQLite catalog holding keys is readable and writable by its owner only (0600), as its WAL files."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return
    base = Path(engine.url.database)
    for path in (base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")):
        try:
            os.chmod(path, KEY_FILE_MODE)
        except FileNotFoundError:
            pass


def _validate_key(provider: Provider, key: str) -> str:
    key = (key or "").strip()
    if not key:
        raise KeyStoreError(f"no {provider.label} key entered")
    if len(key) > MAX_KEY_LENGTH:
        raise KeyStoreError(f"{provider.label} key is longer than {MAX_KEY_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise KeyStoreError(f"{provider.label} key contains spaces or control characters")
    return key


def save_key(provider: str, key: str) -> KeyStatus:
    """Save a key entered in the UI (in the catalog, seen by every worker) and return the provider's status.

    Raises :class:`KeyStoreError` when the key is empty or malformed, or when the environment already sets
    one (``FAL_KEY``...): the environment always wins, so a saved key would silently be ignored.
    """
    spec = get_provider(provider)
    key = _validate_key(spec, key)
    if environment_key(provider):
        raise KeyStoreError(f"{spec.label} key is already set in the environment ({' / '.join(spec.env_names)});"
                        " unset it there to use a key saved here")
    from media.stored_settings import change_setting

    read_saved_keys()  # an older studio's keys.json first moves into the catalog
    engine = _catalog()
    change_setting(KEYS_SETTING, lambda saved: {**_valid(saved), provider: key}, engine=engine)
    _make_private(engine)
    reset_settings()
    return key_status(provider)


def forget_key(provider: str) -> KeyStatus:
    """Remove a saved key (the environment's, if any, is untouched); returns the new status."""
    from media.stored_settings import change_setting

    get_provider(provider)
    read_saved_keys()
    change_setting(KEYS_SETTING, lambda saved: {k: v for k, v in _valid(saved).items() if k != provider},
                   engine=_catalog())
    reset_settings()
    return key_status(provider)


def key_status(provider: str) -> KeyStatus:
    """Where ``provider``'s key comes from (environment, saved, none) and its masked form."""
    spec = get_provider(provider)
    env = environment_key(provider)
    saved = read_saved_keys().get(provider, "")
    source: KeySource = "environment" if env else ("saved" if saved else "none")
    return KeyStatus(spec.id, spec.label, source, mask_key(env or saved), spec.env_names)


def key_statuses() -> list[KeyStatus]:
    """:func:`key_status` of every known provider."""
    return [key_status(provider) for provider in key_providers()]
