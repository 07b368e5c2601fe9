"""One provider registry: every cloud or local provider of a tool is one self-contained module here that
declares a :class:`Provider` (id, label, tool, key variables, settings fields, price table, how to check
its connection, whether it is configured, how to build its request). Adding a provider is one module, one
line in :data:`PROVIDER_MODULES` and its tests.

Tools (:data:`Tool`): ``animate`` (image to video) and ``lipsync`` (video + audio to a lip-synced video)
are served from here (jobs/animate_tasks.py, jobs/lipsync_tasks.py).
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
    endpoint: str
    price: Price
    arguments: Callable[[dict[str, str], dict[str, Any]], dict[str, Any]]
    billed_units: Callable[[dict[str, Any], dict[str, float]], float]
    key_variables: tuple[str, ...] = ("FAL_KEY",)
    settings_fields: tuple[str, ...] = ("fal_key", "fal_base_url")
    options: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    docs: str = ""

    def configured(self) -> bool:
        """True when its key is set (the settings' fal key for fal providers)."""
        settings = get_settings()
        return all(bool(str(getattr(settings, f, "") or "").strip()) for f in self.settings_fields[:1])

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
        """Whether fal accepts the key (``jobs.provider_check.check_fal``); (ok, message)."""
        from jobs import provider_check

        check = getattr(provider_check, "check_fal", None)
        if check is None:
            return self.configured(), "configured" if self.configured() else "no key"
        result = check()
        return bool(getattr(result, "ok", result)), str(getattr(result, "message", result))


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
