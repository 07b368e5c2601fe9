"""One provider registry: every cloud or local provider of a tool is one self-contained module here that
declares a :class:`Provider` (id, label, tool, key account and key variables, settings fields, price table,
connection check, whether it is configured, how to build its request). Adding a provider is one module, one
line in :data:`PROVIDER_MODULES` and its tests.

Read by: ``animate`` (image to video, jobs/animate_tasks.py) and ``lipsync`` (jobs/lipsync_tasks.py) for
everything; ``swap`` (jobs/swap_providers, jobs/swap_tasks.py: names, keys, class, price, recovery),
``character`` (jobs/character_providers, jobs/character_tasks.py: names, class, key, price; no if/elif) and
``lora`` (jobs/lora_tasks.py, jobs/fal.py: price); the key store (media/keys.py: :func:`key_accounts`), the
connection check (jobs/provider_check.py) and the Settings tab (keys, Providers table, price table).
``impl`` is the "module:Class" of a provider whose work lives in its own engine module (loaded on first
use, so a missing library makes only that provider unavailable).

Prices: each module declares its price table (:class:`Price`); a settings field named by
``price_setting`` (a JSON object, e.g. ``NOVAI_SWAP_PRICE_CENTS_PER_SECOND``) may override it per
``price_key`` (:meth:`Provider.current_price`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

from media.errors import InvalidInput
from media.settings import Settings, get_settings

if TYPE_CHECKING:
    from jobs.provider_check import ConnectionResult

Tool = Literal["swap", "character", "lora", "animate", "lipsync"]
TOOLS: tuple[str, ...] = get_args(Tool)

# module paths, one per provider (the registry's single list)
PROVIDER_MODULES: tuple[str, ...] = (
    "jobs.providers.swap_local",
    "jobs.providers.swap_onnx",
    "jobs.providers.swap_fal",
    "jobs.providers.character_local",
    "jobs.providers.character_gemini",
    "jobs.providers.lucy14b",
    "jobs.providers.kling21",
    "jobs.providers.sync_lipsync",
    "jobs.providers.lora_fal",
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

    @classmethod
    def from_override(cls, base: Price, entry: Any) -> Price:
        """``base`` with an override from a settings price table: a number (cents per unit) or an object
        ``{usd_per_unit, min_units}`` (fal's form: ``min_units`` billed at least). Raises
        :class:`InvalidInput` for anything else."""
        if isinstance(entry, bool):
            raise InvalidInput(f"price override {entry!r} is not a number of cents")
        if isinstance(entry, (int, float)):
            return replace(base, cents_per_unit=float(entry), base_cents=0.0, base_units=0.0,
                           source="settings override")
        if isinstance(entry, dict) and "usd_per_unit" in entry:
            per_unit = float(entry["usd_per_unit"]) * 100
            minimum = float(entry.get("min_units", 0) or 0)
            return replace(base, cents_per_unit=per_unit, base_cents=per_unit * minimum, base_units=minimum,
                           unit=str(entry.get("unit", base.unit)), source="settings override")
        raise InvalidInput(f"price override {entry!r}: give cents per unit or {{usd_per_unit, min_units}}")

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
    ``account`` / ``account_label``: the key account (one key shared by every provider of that account,
    e.g. ``fal``); ``check``: "module:function" of the account's connection check, returning a
    :class:`jobs.provider_check.ConnectionResult`. ``price_setting``: settings field (a dict) that may
    override ``price`` at ``price_key(settings)`` (default: the provider id).
    """

    id: str
    label: str
    tool: Tool
    endpoint: str = ""
    price: Price = field(default_factory=lambda: Price(0.0, source="free"))
    arguments: Callable[[dict[str, str], dict[str, Any]], dict[str, Any]] | None = None
    billed_units: Callable[[dict[str, Any], dict[str, float]], float] = lambda opts, facts: 0.0
    key_variables: tuple[str, ...] = ("FAL_KEY", "NOVAI_FAL_KEY")
    settings_fields: tuple[str, ...] = ("fal_key", "fal_base_url")
    options: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    impl: str = ""
    docs: str = ""
    account: str = "fal"
    account_label: str = "fal.ai"
    check: str = "jobs.provider_check:check_fal"
    price_setting: str = ""
    price_key: Callable[[Settings], str] | None = None

    def current_price(self, settings: Settings | None = None) -> Price:
        """The price table in force: the module's, or the override in the settings field
        ``price_setting`` at ``price_key``. A key missing from a non-empty override table is charged the
        higher of the module's price and the table's highest (spend is never under-counted)."""
        if not self.price_setting:
            return self.price
        settings = settings or get_settings()
        table = getattr(settings, self.price_setting, None) or {}
        key = self.price_key(settings) if self.price_key else self.id
        if key in table:
            return Price.from_override(self.price, table[key])
        overrides = [Price.from_override(self.price, entry) for entry in table.values()]
        return max([self.price, *overrides], key=lambda p: (p.cents_per_unit, p.base_cents))

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
        return self.current_price().cents(self.billed_units(self.check_options(options), dict(facts or {})))

    def check_connection(self) -> tuple[bool, str]:
        """Whether the provider's service accepts the key (its ``check``); (ok, message).
        A provider that needs no key is always reachable."""
        if self.key_setting is None:
            return True, "offline, no key needed"
        result = load_check(self.check)()
        return bool(result.ok), str(result.message)


@dataclass(frozen=True)
class KeyAccount:
    """One key the studio can hold, shared by the providers of one account (e.g. fal: swap, LoRA,
    animate, lip sync): ``key_variables`` (environment, first wins), settings field ``key_setting``,
    connection ``check`` ("module:function")."""

    id: str
    label: str
    key_variables: tuple[str, ...]
    key_setting: str
    check: str
    providers: tuple[str, ...]


def load_check(path: str) -> Callable[[], ConnectionResult]:
    """The connection-check function at "module:function" (called with no arguments)."""
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


def key_accounts() -> dict[str, KeyAccount]:
    """The key accounts of every registered provider that needs a key, by account id, in registry order.

    Raises ``ValueError`` when two providers of one account disagree on its key variables, key setting
    or check (a registry mistake, caught by the tests)."""
    found: dict[str, KeyAccount] = {}
    for p in all_providers():
        if p.key_setting is None:
            continue
        seen = found.get(p.account)
        if seen is None:
            found[p.account] = KeyAccount(p.account, p.account_label, p.key_variables, p.key_setting,
                                          p.check, (f"{p.tool}/{p.id}",))
            continue
        if (seen.key_variables, seen.key_setting, seen.check) != (p.key_variables, p.key_setting, p.check):
            raise ValueError(f"provider {p.tool}/{p.id} declares account {p.account!r} unlike "
                             f"{seen.providers[0]} (key variables, key setting or check differ)")
        found[p.account] = replace(seen, providers=(*seen.providers, f"{p.tool}/{p.id}"))
    return found


def all_providers() -> list[Provider]:
    """Every registered provider, in :data:`PROVIDER_MODULES` order."""
    return [importlib.import_module(name).PROVIDER for name in PROVIDER_MODULES]


def providers(tool: str) -> list[Provider]:
    """The providers of ``tool``; raises :class:`InvalidInput` for an unknown tool."""
    if tool not in TOOLS:
        raise InvalidInput(f"unknown tool {tool!r}; use one of {', '.join(TOOLS)}")
    return [p for p in all_providers() if p.tool == tool]


def provider_for_endpoint(endpoint: str) -> Provider | None:
    """The registered provider whose fal endpoint is ``endpoint`` (its own, or the one its
    ``price_key`` names, e.g. the LoRA trainer setting); None when none is."""
    settings = get_settings()
    for p in all_providers():
        if endpoint and endpoint in (p.endpoint, p.price_key(settings) if p.price_key else None):
            return p
    return None


def get_provider(tool: str, provider_id: str) -> Provider:
    """The provider ``provider_id`` of ``tool``; raises :class:`InvalidInput` naming the known ones."""
    found = {p.id: p for p in providers(tool)}
    if provider_id not in found:
        raise InvalidInput(f"unknown {tool} provider {provider_id!r}; use one of {', '.join(found)}")
    return found[provider_id]
