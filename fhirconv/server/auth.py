"""Credentials for a FHIR server, and the redaction that keeps them out of every message."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Credentials:
    """A bearer token, or a user and password (basic), plus extra headers. Never printed."""

    bearer_token: str | None = None
    basic: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bearer_token is not None and self.basic is not None:
            raise ValueError("give a bearer token or basic credentials, not both")

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        elif self.basic is not None:
            user, password = self.basic
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    def secrets(self) -> list[str]:
        """Every string that must never appear in output."""
        found = [s for s in (self.bearer_token,) if s]
        if self.basic is not None:
            found.append(self.basic[1])
            found.append(self.request_headers()["Authorization"].split(" ", 1)[1])
        found.extend(value for name, value in self.headers.items() if _looks_secret(name))
        return [s for s in found if s]

    def __repr__(self) -> str:
        kind = "bearer" if self.bearer_token else "basic" if self.basic else "none"
        return f"Credentials({kind}, headers={sorted(self.headers)})"


def _looks_secret(header: str) -> bool:
    name = header.lower()
    return any(word in name for word in ("auth", "token", "key", "secret", "cookie", "password"))


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def display_url(url: str) -> str:
    """The URL without user information (``https://user:pw@host`` -> ``https://host``)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
