"""Cloud provider keys: which are configured, keys entered in the UI, and how they are shown.

A key set in the environment (or the ``.env`` file) always wins. A key entered in Settings is saved in
``<data_dir>/keys.json`` with owner-only permissions (0600) and fills the settings field only when the
environment leaves it empty. Keys are shown masked (:func:`mask_key`) and never logged in full.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.errors import StudioError
from media.settings import Settings, get_settings, reset_settings

KEYS_FILE_NAME = "keys.json"
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
    """Path of the saved-keys file in the data folder."""
    return (data_dir or get_settings().data_dir) / KEYS_FILE_NAME


def read_saved_keys(data_dir: Path) -> dict[str, str]:
    """Keys saved from the UI, by provider id; {} when there is no (readable, valid) file."""
    path = data_dir / KEYS_FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    known = key_providers()
    return {k: v for k, v in data.items() if k in known and isinstance(v, str) and v}


def apply_saved_keys(settings: Settings) -> None:
    """Fill each empty key field of ``settings`` from the saved-keys file (the environment wins)."""
    saved = read_saved_keys(settings.data_dir)
    known = key_providers()
    for provider_id, key in saved.items():
        field = known[provider_id].field
        if not getattr(settings, field):
            setattr(settings, field, key)


def environment_key(provider: str) -> str:
    """The provider's key as set in the environment or the ``.env`` file ('' when unset)."""
    return str(getattr(Settings(), get_provider(provider).field) or "")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable and writable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, KEY_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, KEY_FILE_MODE)


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
    """Save a key entered in the UI (0600 file in the data folder) and return the provider's status.

    Raises :class:`KeyStoreError` when the key is empty or malformed, or when the environment already sets
    one (``FAL_KEY``...): the environment always wins, so a saved key would silently be ignored.
    """
    spec = get_provider(provider)
    key = _validate_key(spec, key)
    if environment_key(provider):
        raise KeyStoreError(f"{spec.label} key is already set in the environment ({' / '.join(spec.env_names)});"
                        " unset it there to use a key saved here")
    data_dir = get_settings().data_dir
    saved = read_saved_keys(data_dir)
    saved[provider] = key
    _write_private(keys_file(data_dir), json.dumps(saved, indent=1))
    reset_settings()
    return key_status(provider)


def forget_key(provider: str) -> KeyStatus:
    """Remove a saved key (the environment's, if any, is untouched); returns the new status."""
    get_provider(provider)
    data_dir = get_settings().data_dir
    saved = read_saved_keys(data_dir)
    if saved.pop(provider, None) is not None:
        _write_private(keys_file(data_dir), json.dumps(saved, indent=1))
    reset_settings()
    return key_status(provider)


def key_status(provider: str) -> KeyStatus:
    """Where ``provider``'s key comes from (environment, saved, none) and its masked form."""
    spec = get_provider(provider)
    env = environment_key(provider)
    saved = read_saved_keys(get_settings().data_dir).get(provider, "")
    source: KeySource = "environment" if env else ("saved" if saved else "none")
    return KeyStatus(spec.id, spec.label, source, mask_key(env or saved), spec.env_names)


def key_statuses() -> list[KeyStatus]:
    """:func:`key_status` of every known provider."""
    return [key_status(provider) for provider in key_providers()]
