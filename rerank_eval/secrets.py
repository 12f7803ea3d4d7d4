"""The one redaction policy: API keys never reach a log, a report, a cache file or an error.

- :class:`Secret` wraps a key so that printing it (repr, str, format, pickling) never
  shows it; only :meth:`Secret.reveal` does, where the request header is built.
- :func:`redact` removes known key values, ``Bearer <token>`` and ``api_key=...`` style
  option values from any text (provider messages, spec strings, command lines).
- :func:`safe_url` drops user info, query string and fragment from a URL.
- :func:`is_secret_option` names the spec/suite options whose values are credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"

_SECRET_OPTION = re.compile(r"((?:api[_-]?key|token|secret|password)=)[^&\s]+", re.IGNORECASE)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


class Secret:
    """An API key that never prints itself (repr, str and format all say ``***``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # pickling would copy the key into a file
        raise TypeError("a Secret cannot be pickled")


def redact(text: str, secrets: Iterable[Secret | str | None] = ()) -> str:
    """``text`` without the given secrets, ``Bearer`` tokens or ``api_key=...`` values."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_OPTION.sub(rf"\g<1>{REDACTED}", text)


def is_secret_option(name: str) -> bool:
    """An option whose value is a credential (``api_key``, ``token``, ...)."""
    return _SECRET_OPTION.search(f"{name}=x") is not None


def safe_url(url: str) -> str:
    """A URL fit for messages and cache keys: no user info, no query string, no fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
