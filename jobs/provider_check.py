""""Test connection" for each cloud key account of the provider registry: one cheap authenticated request
through its real client. Each provider module names its account's check (``Provider.check``);
:func:`check_provider` runs the one the registry declares.

- fal: the storage token request that ``fal_client`` makes before every upload
  (``POST {REST_URL}/storage/auth/token?storage_type=fal-cdn-v3`` with ``Authorization: Key <key>``,
  answered by ``{token, token_type, base_url, expires_at}``; fal-client 1.0.3 ``CDNTokenManager``).
  It needs a valid key and costs nothing.
- Gemini: list models (``GET {base}/{version}/models?pageSize=...`` with ``x-goog-api-key``;
  google-genai ``client.models.list``), free of charge.

Hosts follow the settings' ``fal_base_url`` / ``gemini_base_url`` (tests and proxies). Results never
contain the key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from media.settings import get_settings

try:  # google-genai 3.x talks through httpx2, a fork of httpx with its own exception classes
    import httpx2

    _TIMEOUTS: tuple[type[Exception], ...] = (httpx.TimeoutException, httpx2.TimeoutException)
    _TRANSPORT: tuple[type[Exception], ...] = (httpx.TransportError, httpx2.TransportError)
except ImportError:  # pragma: no cover - depends on the google-genai version installed
    _TIMEOUTS, _TRANSPORT = (httpx.TimeoutException,), (httpx.TransportError,)

DEFAULT_TIMEOUT_S = 10.0
_FAL_HOST_LOCK = threading.Lock()


@dataclass(frozen=True)
class ConnectionResult:
    """Outcome of one connection test: ``ok``, a message for the creator, and the time it took."""

    provider: str
    ok: bool
    message: str
    seconds: float


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _http_problem(provider: str, status: int, detail: str) -> str:
    if status in (400, 401, 403):
        return f"{provider} rejected the key (HTTP {status}: {_short(detail)})"
    if status == 402:
        return f"{provider} says payment is required: add credit to the account (HTTP 402)"
    if status == 429:
        return f"{provider} is rate-limiting this key; try again in a minute (HTTP 429)"
    if status >= 500:
        return f"{provider} had a server error; try again later (HTTP {status})"
    return f"{provider} answered HTTP {status}: {_short(detail)}"


def _timed(provider: str, attempt: Callable[[], str], explain: Callable[[Exception], str | None]
           ) -> ConnectionResult:
    start = time.monotonic()
    try:
        message = attempt()
        ok = True
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message; unknown ones name their type
        message = explain(exc) or f"{provider} test failed: {exc.__class__.__name__}: {_short(str(exc))}"
        ok = False
    return ConnectionResult(provider, ok, message, round(time.monotonic() - start, 3))


def _transport_problem(provider: str, exc: Exception, timeout_s: float) -> str | None:
    if isinstance(exc, _TIMEOUTS):
        return f"no answer from {provider} within {timeout_s:g} s"
    if isinstance(exc, _TRANSPORT):
        return f"cannot reach {provider}: {_short(str(exc) or exc.__class__.__name__)}"
    return None


# --- fal -------------------------------------------------------------------------------------------

@contextmanager
def fal_rest_url(base_url: str) -> Iterator[None]:
    """Point ``fal_client``'s REST host at ``base_url`` for the block (no change when empty)."""
    from fal_client import client as fal_module

    if not base_url:
        yield
        return
    with _FAL_HOST_LOCK:
        saved = fal_module.REST_URL
        fal_module.REST_URL = base_url.rstrip("/")
        try:
            yield
        finally:
            fal_module.REST_URL = saved


FAL_TOKEN_TIMEOUT_S = 5.0  # fal-client's CDNTokenManager uses httpx.Client() defaults: 5 s


def check_fal(key: str | None = None, base_url: str | None = None) -> ConnectionResult:
    """Ask fal for a storage upload token with ``key`` (default: the configured key).

    Returns a :class:`ConnectionResult`; never raises for network or HTTP problems.
    """
    from fal_client.auth import AuthCredentials
    from fal_client.client import CDNTokenManager

    settings = get_settings()
    key = settings.fal_key if key is None else key
    base_url = settings.fal_base_url if base_url is None else base_url
    if not key:
        return ConnectionResult("fal", False, "no fal key set: enter one in Settings or set FAL_KEY", 0.0)

    def attempt() -> str:
        with fal_rest_url(base_url):
            manager = CDNTokenManager(AuthCredentials("Key", key))
        token = manager.get_token()
        if not token.token:
            raise ValueError("the token in fal's answer is empty")
        return f"connected to fal: key accepted (upload token valid until {token.expires_at:%Y-%m-%d %H:%M} UTC)"

    def explain(exc: Exception) -> str | None:
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            try:
                detail = response.json().get("detail", response.text)
            except (ValueError, AttributeError):
                detail = response.text
            return _http_problem("fal", response.status_code, str(detail))
        if isinstance(exc, (KeyError, ValueError, TypeError)):
            return f"unexpected answer from fal: {_short(str(exc) or exc.__class__.__name__)}"
        return _transport_problem("fal", exc, FAL_TOKEN_TIMEOUT_S)

    return _timed("fal", attempt, explain)


# --- Gemini ------------------------------------------------------------------------------------------

def check_gemini(key: str | None = None, base_url: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> ConnectionResult:
    """List Gemini models with ``key`` (default: the configured key); never raises for HTTP problems."""
    from google import genai
    from google.genai import errors, types

    settings = get_settings()
    key = settings.gemini_api_key if key is None else key
    base_url = settings.gemini_base_url if base_url is None else base_url
    if not key:
        return ConnectionResult("gemini", False,
                                "no Gemini key set: enter one in Settings or set GOOGLE_API_KEY", 0.0)

    def attempt() -> str:
        options = types.HttpOptions(base_url=base_url or None, timeout=int(timeout_s * 1000))
        client = genai.Client(api_key=key, http_options=options)
        try:
            page = client.models.list(config=types.ListModelsConfig(page_size=50)).page
        finally:
            client.close()
        names = [model.name for model in page if model.name]
        if not names:
            return "connected to Gemini: key accepted (no models listed)"
        images = [n for n in names if "image" in n]
        shown = ", ".join(n.removeprefix("models/") for n in (images or names)[:3])
        return f"connected to Gemini: key accepted, {len(names)} models listed (e.g. {shown})"

    def explain(exc: Exception) -> str | None:
        if isinstance(exc, errors.APIError):
            return _http_problem("Gemini", int(exc.code or 0), exc.message or str(exc.status or ""))
        if isinstance(exc, (ValueError, KeyError, TypeError)):
            return f"unexpected answer from Gemini: {_short(str(exc) or exc.__class__.__name__)}"
        return _transport_problem("Gemini", exc, timeout_s)

    return _timed("gemini", attempt, explain)


def check_provider(provider: str) -> ConnectionResult:
    """Run the connection test of key account ``provider`` with the configured key: the ``check`` its
    providers declare in the registry (:func:`jobs.providers.key_accounts`; ``fal`` -> :func:`check_fal`,
    ``gemini`` -> :func:`check_gemini`). Raises ``ValueError`` naming the known accounts."""
    from jobs.providers import key_accounts, load_check

    accounts = key_accounts()
    if provider not in accounts:
        raise ValueError(f"unknown provider {provider!r}; known: {', '.join(accounts)}")
    return load_check(accounts[provider].check)()
