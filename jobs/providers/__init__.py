"""One provider registry: every cloud or local provider of a tool is one self-contained module here that
declares a :class:`Provider` (id, label, tool, key variables, settings fields, price table, how to check
its connection, whether it is configured, how to build its request). Adding a provider is one module, one
line in :data:`PROVIDER_MODULES` and its tests.

Read by: ``animate`` (image to video, jobs/animate_tasks.py) and ``lipsync`` (jobs/lipsync_tasks.py) for
everything; ``swap`` (jobs/swap_providers: names, key variables, implementation class) and ``character``
(jobs/character_providers: names, implementation class, no if/elif). ``impl`` is the "module:Class" of a
provider whose work lives in its own engine module (loaded on first use, so a missing library makes only
that provider unavailable).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from media.errors import InvalidInput
from media.settings import get_settings

Tool = Literal["swap", "character", "lora", "animate", "lipsync"]
TOOLS: tuple[str, ...] = get_args(Tool)

# module paths, one per provider (the registry's single list)
PROVIDER_MODULES: tuple[str, ...] = (
    "jobs.providers.swap_local",
    "jobs.providers.swap_fal",
    "jobs.providers.character_local",
    "jobs.providers.character_gemini",
    "jobs.providers.lucy14b",
    "jobs.providers.kling21",
    "jobs.providers.sync_lipsync",
)


@dataclass(frozen=True)
class Price:
    """A price table: ``base_cents`` for the first ``base_units`` units, then ``cents_per_unit``
    (``unit``: "second" of output video...). ``source``: where the figure comes from."""

    cents_per_unit: float
    unit: str = "second"
    base_cents: float = 0.0
    base_units: float = 0.0
    source: str = ""

    def cents(self, units: float) -> int:
        """Whole cents (rounded up) for ``units`` billed units."""
        extra = max(0.0, float(units) - self.base_units) * self.cents_per_unit
        return math.ceil(round(self.base_cents + extra, 6))


@dataclass(frozen=True)
class Provider:
    """One provider of one tool.

    ``endpoint``: the fal endpoint id (cloud providers). ``key_variables``: environment variables that
    hold its key (the first one set counts). ``settings_fields``: :class:`media.settings.Settings` fields it
    reads. ``options``: allowed option values (e.g. ``{"duration_s": (5, 10)}``; the first is the default).
    ``arguments(inputs, options)``: the endpoint's JSON input from uploaded URLs and options.
    ``billed_units(options, facts)``: units billed for an estimate (``facts``: e.g. input durations, s).
    """

    id: str
    label: str
    tool: Tool
    endpoint: str = ""
    price: Price = field(default_factory=lambda: Price(0.0, source="free"))
    arguments: Callable[[dict[str, str], dict[str, Any]], dict[str, Any]] | None = None
    billed_units: Callable[[dict[str, Any], dict[str, float]], float] = lambda opts, facts: 0.0
    key_variables: tuple[str, ...] = ("FAL_KEY",)
    settings_fields: tuple[str, ...] = ("fal_key", "fal_base_url")
    options: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    impl: str = ""
    docs: str = ""

    @property
    def key_setting(self) -> str | None:
        """The settings field holding its key (the first settings field when it has key variables)."""
        return self.settings_fields[0] if self.key_variables and self.settings_fields else None

    def configured(self) -> bool:
        """True when it needs no key or its key setting is filled."""
        if self.key_setting is None:
            return True
        return bool(str(getattr(get_settings(), self.key_setting, "") or "").strip())

    def load(self) -> Any:
        """An instance of its ``impl`` class (built with no arguments). Raises ImportError when its module
        or a library it imports is missing, ValueError when it has no ``impl``."""
        if not self.impl:
            raise ValueError(f"{self.tool} provider {self.id} has no implementation class")
        module_name, _, class_name = self.impl.partition(":")
        return getattr(importlib.import_module(module_name), class_name)()

    def check_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        """Options with defaults filled; raises :class:`InvalidInput` naming an unknown key or value."""
        given = dict(options or {})
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            raise InvalidInput(f"{self.label}: unknown option(s) {', '.join(unknown)} "
                               f"(known: {', '.join(self.options) or 'none'})")
        out = {}
        for key, allowed in self.options.items():
            value = given.get(key)
            if value in (None, ""):
                out[key] = allowed[0]
                continue
            if isinstance(allowed[0], (int, float)) and not isinstance(value, bool):
                try:
                    value = type(allowed[0])(float(value))
                except (TypeError, ValueError):
                    raise InvalidInput(f"{self.label}: {key} must be a number, got {value!r}") from None
            if value not in allowed:
                raise InvalidInput(f"{self.label}: {key} {value!r} is not one of "
                                   f"{', '.join(map(str, allowed))}")
            out[key] = value
        return out

    def estimate_cents(self, options: dict[str, Any], facts: dict[str, float] | None = None) -> int:
        """Cost estimate in whole cents of one request with ``options`` (checked first)."""
        return self.price.cents(self.billed_units(self.check_options(options), dict(facts or {})))

    def check_connection(self) -> tuple[bool, str]:
        """Whether the provider's service accepts the key (``jobs.provider_check``); (ok, message).
        A provider that needs no key is always reachable."""
        if self.key_setting is None:
            return True, "offline, no key needed"
        from jobs import provider_check

        account = "gemini" if self.key_setting == "gemini_api_key" else "fal"
        result = provider_check.check_provider(account)
        return bool(result.ok), str(result.message)


def all_providers() -> list[Provider]:
    """Every registered provider, in :data:`PROVIDER_MODULES` order."""
    return [importlib.import_module(name).PROVIDER for name in PROVIDER_MODULES]


def providers(tool: str) -> list[Provider]:
    """The providers of ``tool``; raises :class:`InvalidInput` for an unknown tool."""
    if tool not in TOOLS:
        raise InvalidInput(f"unknown tool {tool!r}; use one of {', '.join(TOOLS)}")
    return [p for p in all_providers() if p.tool == tool]


def get_provider(tool: str, provider_id: str) -> Provider:
    """The provider ``provider_id`` of ``tool``; raises :class:`InvalidInput` naming the known ones."""
    found = {p.id: p for p in providers(tool)}
    if provider_id not in found:
        raise InvalidInput(f"unknown {tool} provider {provider_id!r}; use one of {', '.join(found)}")
    return found[provider_id]
