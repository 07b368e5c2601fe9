"""Character-diagram providers by name: ``local`` (offline default) and ``gemini`` (cloud), as declared
in the provider registry (:mod:`jobs.providers`, tool ``character``)."""

from __future__ import annotations

from jobs.character_providers.base import CharacterProvider
from jobs.providers import providers


def provider_names() -> tuple[str, ...]:
    """The registry's character provider ids, in registry order (``local``, ``gemini``)."""
    return tuple(p.id for p in providers("character"))


def get_provider(name: str) -> CharacterProvider:
    """The provider called ``name`` (its registry entry's class); raises ``ValueError`` naming the known
    ones."""
    found = {p.id: p for p in providers("character")}
    if name not in found:
        raise ValueError(f"unknown character provider {name!r}; choose one of {', '.join(found)}")
    return found[name].load()


def default_provider() -> str:
    """The first registered provider that needs a key and has one (``gemini``), else the first one that
    needs none (``local``, offline)."""
    entries = providers("character")
    keyed = [p.id for p in entries if p.key_setting and p.configured()]
    return (keyed or [p.id for p in entries if p.key_setting is None])[0]


def provider_descriptions() -> dict[str, str]:
    """What each provider does, for the UI, by name."""
    return {p.id: type(p.load()).description for p in providers("character")}
