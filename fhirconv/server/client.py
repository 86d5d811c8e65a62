"""A small FHIR REST client: one requests.Session, timeouts on every call, retries with backoff, and errors that
carry the server's OperationOutcome rendered for people."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from fhirconv.errors import ServerError, ServerRejected, ServerUnreachable
from fhirconv.serialize import dumps_json
from fhirconv.server.auth import Credentials, display_url, redact
from fhirconv.server.outcome import outcome_lines
from fhirconv.server.retry import RETRY_STATUSES, RetryPolicy

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 120.0


class FhirClient:
    """Talks to one FHIR server. ``session`` can be given (tests pass one that ``responses`` patches)."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        session: requests.Session | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ServerError(
                f"{base_url!r} is not an http(s) URL", hint="give the server's base, e.g. http://localhost:8080/fhir"
            )
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials or Credentials()
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.verify = verify
        self.session.headers.update({"Accept": FHIR_JSON, "User-Agent": "fhirconv"})
        self.session.headers.update(self.credentials.request_headers())
        self._log = log
        self._secrets = self.credentials.secrets()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- operations ---------------------------------------------------------------------------------------------

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction (or batch) bundle; the response bundle."""
        return self.request("POST", "", body=bundle)

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return self.request("GET", f"{resource_type}/{resource_id}")

    def validate(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``$validate`` a resource; returns the OperationOutcome whether or not it holds errors."""
        try:
            return self.request("POST", f"{resource['resourceType']}/$validate", body=resource)
        except ServerRejected as exc:
            if exc.status in {400, 412, 422} and exc.outcome is not None:
                return exc.outcome
            raise

    # -- the request loop ---------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/{path}" if path else self.base_url
        shown = display_url(url)
        data = dumps_json(body, indent=None).encode("utf-8") if body is not None else None
        headers = {"Content-Type": f"{FHIR_JSON}; charset=utf-8"} if data is not None else {}
        started = self.retry.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method, url, data=data, headers=headers, timeout=(self.timeouts.connect, self.timeouts.read)
                )
            except requests.exceptions.SSLError as exc:
                raise ServerUnreachable(
                    f"TLS verification failed for {shown}: {self._clean(exc)}",
                    url=shown,
                    hint="pass --ca-bundle FILE to trust a private certificate authority",
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if self._may_retry(attempt, started):
                    self._wait(attempt, None, f"{type(exc).__name__} from {shown}")
                    continue
                raise ServerUnreachable(
                    f"{method} {shown} failed after {attempt} attempt{'s' if attempt > 1 else ''}: {_describe(exc)}",
                    url=shown,
                    hint="check that the server runs and the URL is right",
                ) from None
            if response.status_code in RETRY_STATUSES and self._may_retry(attempt, started):
                self._wait(attempt, response.headers.get("Retry-After"), f"HTTP {response.status_code} from {shown}")
                continue
            return self._answer(method, shown, response)

    def _may_retry(self, attempt: int, started: float) -> bool:
        return attempt < self.retry.attempts and self.retry.clock() - started < self.retry.deadline

    def _wait(self, attempt: int, retry_after: str | None, reason: str) -> None:
        delay = self.retry.wait(attempt, retry_after)
        if self._log is not None:
            self._log(f"{reason}; retrying in {delay:.1f} s (attempt {attempt + 1} of {self.retry.attempts})")
        self.retry.sleep(delay)

    def _answer(self, method: str, shown: str, response: requests.Response) -> dict[str, Any]:
        content_type = response.headers.get("Content-Type", "")
        parsed: Any = None
        if "json" in content_type:
            try:
                parsed = json.loads(response.content)
            except ValueError:
                parsed = None
        if response.ok:
            if not isinstance(parsed, dict) or "resourceType" not in parsed:
                raise ServerRejected(
                    f"{method} {shown} answered HTTP {response.status_code} without a FHIR resource "
                    f"(Content-Type: {content_type or 'none'})",
                    url=shown,
                    status=response.status_code,
                    hint="is this the FHIR base URL?",
                )
            return parsed
        lines = outcome_lines(parsed)
        reason = response.reason or ""
        message = f"{method} {shown} was rejected: HTTP {response.status_code} {reason}".rstrip()
        if not lines:
            message += f" (not a FHIR answer: {content_type.split(';')[0] or 'no content type'})"
        error = ServerRejected(
            redact(message, self._secrets),
            url=shown,
            status=response.status_code,
            issues=[redact(line, self._secrets) for line in lines],
            hint=_hint(response.status_code),
        )
        error.outcome = parsed if lines else None
        raise error

    def _clean(self, exc: Exception) -> str:
        return redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, self._secrets)


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text.lower():
        return "the connection was dropped"
    return type(exc).__name__


def _hint(status: int) -> str | None:
    return {
        401: "check the credentials (--token-env, --token-file, --user)",
        403: "the credentials are not allowed to do this",
        404: "check the server's base URL",
        412: "a conditional request matched more than one resource",
        422: "the server found the content invalid; see the issues above",
    }.get(status)
