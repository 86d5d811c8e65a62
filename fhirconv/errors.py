"""The one exception tree of fhirconv.

Every error a user can cause or meet derives from :class:`FhirconvError` and carries the context needed to
render it as one line (file, line, column, field, hint). The CLI turns each into that line and an exit code;
a library user catches :class:`FhirconvError` (or a branch of it) and reads the attributes.

::

    FhirconvError                      exit 1 unless stated
    ├── InputError                     something wrong in what the user gave us
    │   ├── CaseFileError              a case file cannot be read or does not fit the format
    │   │   ├── CaseSyntaxError        not YAML/JSON, empty, binary, too large, aliases
    │   │   ├── CaseSchemaError        a field is missing, unknown or of the wrong type
    │   │   ├── TimeExpressionError    a time that cannot be parsed or resolved (cycles, impossible dates)
    │   │   ├── QuantityError          a value, unit or reference range that cannot be read
    │   │   └── UnknownTermError       a term the mappings do not know (with suggestions)
    │   ├── BundleReadError            a bundle given to `validate`/`push` cannot be parsed
    │   └── MappingError               a mappings table is malformed (duplicates, bad codes, bad units)
    ├── UcumError                      a unit is not valid UCUM (also a ValueError)
    ├── ValidationFailed               validation found errors (carries the issues)
    ├── OutputError                    an output file cannot be written
    └── ServerError                    exit 3: the FHIR server rejected the request or could not be reached
        ├── ServerUnreachable          no answer: connection refused or dropped, timeouts (after the retries)
        ├── ServerRejected             an HTTP error answer, with the OperationOutcome issues when there are some
        └── VerificationFailed         what the server holds differs from what was sent (push --verify)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where in a user's file something is: every part is optional because not every input has lines."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def render(self) -> str:
        parts: list[str] = []
        if self.file:
            head = self.file
            if self.line is not None:
                head += f":{self.line}"
                if self.column is not None:
                    head += f":{self.column}"
            parts.append(head)
        if self.field:
            parts.append(self.field)
        return ": ".join(parts)


def render_path(path: Sequence[str | int]) -> str:
    """``("observations", 3, "value")`` -> ``observations[3].value``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class FhirconvError(Exception):
    """Base of every error fhirconv raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or Location()
        self.hint = hint

    #: The path of the offending field inside the user's document, when known; the caller maps it to a line.
    field_path: tuple[str | int, ...] | None = None

    def at_path(self, path: Sequence[str | int]) -> FhirconvError:
        """Record the field path (the innermost one wins) and return self."""
        if self.field_path is None:
            self.field_path = tuple(path)
            if self.location.field is None:
                self.location = Location(
                    self.location.file, self.location.line, self.location.column, render_path(path)
                )
        return self

    def with_location(self, location: Location) -> FhirconvError:
        """Fill in the parts of the location this error does not know yet (file, line) and return self."""
        mine = self.location
        self.location = Location(
            file=mine.file or location.file,
            line=mine.line if mine.line is not None else location.line,
            column=mine.column if mine.column is not None else location.column,
            field=mine.field or location.field,
        )
        return self

    def one_line(self) -> str:
        """The message a person sees: ``file:line:col: field: message (hint: ...)`` on one line."""
        where = self.location.render()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return " ".join(text.split("\n"))

    def __str__(self) -> str:
        return self.one_line()


class InputError(FhirconvError):
    """Something in what the user gave us is wrong; fixing the input fixes it."""


class CaseFileError(InputError):
    """A case file cannot be read or does not fit the case-file format."""


class CaseSyntaxError(CaseFileError):
    """The file is not well-formed YAML or JSON, or is empty, binary, too large, or uses YAML aliases."""


class CaseSchemaError(CaseFileError):
    """A field is missing, unknown, or has the wrong type or value."""


class TimeExpressionError(CaseFileError):
    """A time cannot be parsed, refers to an unknown anchor, forms a cycle, or names a date that does not exist."""


class QuantityError(CaseFileError):
    """A value, unit or reference range cannot be read, or a unit has no UCUM equivalent."""


class UnknownTermError(CaseFileError):
    """A term is in no mapping table; ``suggestions`` holds the closest known keys."""

    def __init__(
        self,
        term: str,
        suggestions: Sequence[str],
        *,
        location: Location | None = None,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        if hint is None:
            hint = (
                f"closest known terms: {', '.join(suggestions)}; or add codings inline, or pass --allow-unmapped"
                if suggestions
                else "add the term to a table passed with --mappings, give codings inline, or pass --allow-unmapped"
            )
        super().__init__(message or f"unknown term {term!r}", location=location, hint=hint)
        self.term = term
        self.suggestions = list(suggestions)


class BundleReadError(InputError):
    """A bundle or resource given to validate or push cannot be parsed as FHIR JSON, XML or NDJSON."""


class MappingError(InputError):
    """A mappings table is malformed: duplicate key or synonym, malformed code, unknown UCUM unit."""


class UcumError(FhirconvError, ValueError):
    """A unit expression is not valid UCUM; ``position`` is the 0-based offset where reading failed."""

    def __init__(self, code: str, position: int, message: str) -> None:
        super().__init__(f"{code!r} is not valid UCUM at position {position}: {message}")
        self.code = code
        self.position = position


class ValidationFailed(FhirconvError):
    """Validation found at least one error; ``issues`` holds every issue found, not just the first."""

    def __init__(self, message: str, issues: Sequence[Any], *, location: Location | None = None) -> None:
        super().__init__(message, location=location)
        self.issues = list(issues)


class OutputError(FhirconvError):
    """An output file could not be written; nothing was left half written."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot write output: {reason}", location=Location(file=str(path)))
        self.path = str(path)


class ServerError(FhirconvError):
    """The FHIR server rejected the request or could not be reached; ``url`` is the request's address."""

    exit_code = 3

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class ServerUnreachable(ServerError):
    """No usable answer: the connection was refused, dropped or timed out, after every retry."""


class ServerRejected(ServerError):
    """The server answered with an HTTP error; ``issues`` are its OperationOutcome issues, one line each."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        issues: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, url=url, hint=hint)
        self.status = status
        self.issues = list(issues)
        self.outcome: dict[str, Any] | None = None


class VerificationFailed(ServerError):
    """After a push, what the server returns differs from what was sent; ``differences`` lists where."""

    def __init__(self, message: str, differences: Sequence[str]) -> None:
        super().__init__(message)
        self.differences = list(differences)
