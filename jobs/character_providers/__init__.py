"""Character-diagram providers by name: ``local`` (offline default) and ``gemini`` (cloud)."""

from __future__ import annotations

from typing import Literal, get_args

from jobs.character_providers.base import CharacterProvider
from media.settings import get_settings

ProviderName = Literal["local", "gemini"]
PROVIDER_NAMES: tuple[str, ...] = get_args(ProviderName)


def get_provider(name: str) -> CharacterProvider:
    """The provider called ``name``; raises ``ValueError`` naming the known ones."""
    if name == "local":
        from jobs.character_providers.local import LocalCharacterProvider

        return LocalCharacterProvider()
    if name == "gemini":
        from jobs.character_providers.gemini import GeminiCharacterProvider

        return GeminiCharacterProvider()
    raise ValueError(f"unknown character provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}")


def default_provider() -> str:
    """``gemini`` when a Gemini key is configured, else ``local`` (offline)."""
    return "gemini" if get_settings().gemini_api_key else "local"


def provider_descriptions() -> dict[str, str]:
    """What each provider does, for the UI, by name."""
    from jobs.character_providers.gemini import GeminiCharacterProvider
    from jobs.character_providers.local import LocalCharacterProvider

    return {"local": LocalCharacterProvider.description, "gemini": GeminiCharacterProvider.description}
