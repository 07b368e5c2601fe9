"""Face-swap providers: one module each, all implementing :class:`jobs.swap_providers.base.SwapProvider`.

Providers are loaded by module path on first use, so a provider whose module (or client library) is
absent makes only that provider unavailable, with a message saying so. Adding a provider is one module
plus its entry in the provider registry (:mod:`jobs.providers`, tool ``swap``), read on every call
(:func:`implementations`, :func:`provider_keys`).
"""

from __future__ import annotations

import importlib

from jobs.providers import providers
from jobs.swap_providers.base import SwapProvider
from media.errors import StudioError

DEFAULT_PROVIDER = "local"


def implementations() -> dict[str, str]:
    """name -> "module:Class" of every registered swap provider (built with no arguments; it reads the
    settings itself)."""
    return {p.id: p.impl for p in providers("swap")}


def provider_keys() -> dict[str, tuple[str, str]]:
    """name -> (settings attribute, environment variable a creator sets) of the swap providers that need
    a key."""
    return {p.id: (p.key_setting, p.key_variables[0]) for p in providers("swap") if p.key_setting}


class ProviderUnavailable(StudioError, LookupError):
    """The provider is known but its module (or a library it needs) cannot be imported."""


def provider_names() -> list[str]:
    """Known provider names, the default first."""
    return [DEFAULT_PROVIDER] + sorted(n for n in implementations() if n != DEFAULT_PROVIDER)


def check_provider_name(name: str) -> str:
    """``name`` if it is a known provider; raises ValueError listing the known ones otherwise."""
    if name not in implementations():
        raise ValueError(f"unknown face-swap provider {name!r} (known: {', '.join(provider_names())})")
    return name


def missing_key(name: str) -> str | None:
    """The environment variable to set when provider ``name`` needs a key that is not configured."""
    from media.settings import get_settings

    keys = provider_keys()
    if name not in keys:
        return None
    attribute, variable = keys[name]
    return None if getattr(get_settings(), attribute, "") else variable


def load_provider(name: str) -> SwapProvider:
    """An instance of provider ``name``.

    Raises ValueError for an unknown name and :class:`ProviderUnavailable` when its module or a library
    it imports is missing.
    """
    module_name, _, class_name = implementations()[check_provider_name(name)].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ProviderUnavailable(
                f"face-swap provider {name!r} is not installed in this build (module {module_name} is missing)"
            ) from exc
        raise ProviderUnavailable(
            f"face-swap provider {name!r} cannot load: it needs the package {exc.name!r} (pip install it)"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ProviderUnavailable(f"face-swap provider {name!r}: {module_name} defines no {class_name}")
    return cls()
