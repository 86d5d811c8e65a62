"""Turn pydantic's validation errors into one-line messages at the right line of the case file."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from fhirconv.casefile.loader import LoadedDocument
from fhirconv.errors import CaseSchemaError

_HINTS = {
    "extra_forbidden": "remove it or check its spelling; 'fhirconv schema' lists every field",
    "missing": "add this field",
    "literal_error": "use one of the values listed",
    "string_pattern_mismatch": "check the format of this value",
    "decimal_parsing": "write a number",
    "int_parsing": "write a whole number",
}


def schema_error(error: ValidationError, document: LoadedDocument) -> CaseSchemaError:
    """The first problem pydantic found, placed at its line; the count of others in the message."""
    problems = error.errors(include_url=False)
    first = _most_specific(problems)
    path = _clean_path(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown field {path[-1]!r}" if path else "unknown field"
    elif first["type"] == "missing":
        message = f"the field {path[-1]!r} is required" if path else "a required field is missing"
    # A value that fits no member of a union is one problem, however many members pydantic tried.
    others = len({_clean_path(p["loc"]) for p in problems}) - 1
    if others > 0:
        message += f" ({others} more problem{'s' if others > 1 else ''} after this one)"
    result = CaseSchemaError(message, hint=_HINTS.get(first["type"]))
    result.at_path(path)
    return result.with_location(document.locate(path)) if path else result.with_location(document.locate(()))  # type: ignore[return-value]


def _clean_path(loc: tuple[int | str, ...]) -> tuple[str | int, ...]:
    # pydantic adds the union member tried ('str', 'InlineTerm', 'function-after[...]') to the location.
    cleaned: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part[:1].isupper() or "[" in part or part in {"str", "int", "decimal", "function-after", "list"}
        ):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def _most_specific(problems: list[ErrorDetails]) -> ErrorDetails:
    # pydantic reports every member of a union it tried; the deepest location is the one the author meant.
    return max(problems, key=lambda problem: len(_clean_path(problem["loc"])))
