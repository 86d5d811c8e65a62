"""The checks of ``fhirconv validate``: R4 structure (via the models), references, codings, UCUM.

Each check walks FHIR JSON data and returns every issue it finds, located by a FHIRPath-like path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhirconv.terminology import Terminology
from fhirconv.terminology.codes import STANDARD_SYSTEMS, UCUM, code_shape_ok
from fhirconv.ucum import is_valid_ucum
from fhirconv.validate.issues import Issue


def check_structure(resource: dict[str, Any], base: str) -> list[Issue]:
    """Parse with the R4B models (extra elements forbidden): unknown elements, types, cardinality, formats."""
    resource_type = resource.get("resourceType")
    try:
        model = get_fhir_model_class(str(resource_type))
    except KeyError:
        return [Issue("error", base, f"unknown resource type {resource_type!r}", "structure")]
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [
            Issue("error", _path(base, error["loc"]), error["msg"], "structure")
            for error in exc.errors(include_url=False)
        ]
    except (ValueError, TypeError) as exc:
        return [Issue("error", base, str(exc).splitlines()[0], "structure")]
    return []


def _path(base: str, loc: tuple[int | str, ...]) -> str:
    text = base
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part[:1].isupper() or "[" in part or part.startswith("function"):
            continue
        else:
            text += f".{part}"
    return text


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every member of every object below ``value``."""
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}"
            yield path, key, child
            if isinstance(child, list):
                for index, item in enumerate(child):
                    yield from _walk(item, f"{child_path}[{index}]")
            else:
                yield from _walk(child, child_path)


def _objects(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            if isinstance(child, list):
                for index, item in enumerate(child):
                    yield from _objects(item, f"{path}.{key}[{index}]")
            else:
                yield from _objects(child, f"{path}.{key}")


def check_references(bundle: dict[str, Any]) -> list[Issue]:
    """Inside a bundle every reference must resolve: urn:uuid to a fullUrl, Type/id to an entry."""
    if bundle.get("resourceType") != "Bundle":
        return []
    issues: list[Issue] = []
    full_urls: dict[str, str] = {}
    relative: set[str] = set()
    for index, entry in enumerate(bundle.get("entry") or []):
        where = f"Bundle.entry[{index}]"
        full_url = entry.get("fullUrl")
        resource = entry.get("resource") or {}
        if full_url:
            if full_url in full_urls:
                issues.append(Issue("error", f"{where}.fullUrl", f"duplicate fullUrl {full_url!r}", "invalid"))
            full_urls[full_url] = str(resource.get("resourceType"))
        if resource.get("resourceType") and resource.get("id"):
            relative.add(f"{resource['resourceType']}/{resource['id']}")
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        for path, obj in _objects(resource, f"Bundle.entry[{index}].resource"):
            reference = obj.get("reference")
            if not isinstance(reference, str):
                continue
            if reference.startswith("#"):
                continue
            if reference.startswith("urn:"):
                if reference not in full_urls:
                    issues.append(
                        Issue(
                            "error", f"{path}.reference", f"{reference} does not resolve inside the bundle", "not-found"
                        )
                    )
            elif reference.startswith(("http://", "https://")):
                if reference not in full_urls:
                    issues.append(
                        Issue("warning", f"{path}.reference", f"{reference} points outside the bundle", "not-found")
                    )
            else:
                target = "/".join(reference.split("/")[:2])
                if target not in relative:
                    issues.append(
                        Issue(
                            "error", f"{path}.reference", f"{reference} does not resolve inside the bundle", "not-found"
                        )
                    )
    return issues


# Elements of type Coding (CodeableConcept.coding, Encounter.class, Meta.tag/security).
_CODING_ELEMENTS = frozenset({"coding", "class", "tag", "security"})


def check_codes(resource: dict[str, Any], base: str, terminology: Terminology) -> list[Issue]:
    """Codings: a system and a code; codes of the tables' systems with their exact display; UCUM codes valid."""
    issues: list[Issue] = []
    for path, obj in _objects(resource, base):
        system, code = obj.get("system"), obj.get("code")
        if path.rsplit(".", 1)[-1].split("[")[0] in _CODING_ELEMENTS:
            issues.extend(_check_coding(path, obj, terminology))
        elif system == UCUM and isinstance(code, str) and not is_valid_ucum(code):
            issues.append(Issue("error", f"{path}.code", f"{code!r} is not a valid UCUM code", "code-invalid"))
    return issues


def _check_coding(path: str, coding: dict[str, Any], terminology: Terminology) -> list[Issue]:
    system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
    if not system:
        return [Issue("error", path, "the coding has no system", "required")]
    if not code:
        return [Issue("error", path, "the coding has no code", "required")]
    if system == UCUM:
        return (
            []
            if is_valid_ucum(str(code))
            else [Issue("error", f"{path}.code", f"{code!r} is not a valid UCUM code", "code-invalid")]
        )
    if system in STANDARD_SYSTEMS and not code_shape_ok(system, str(code)):
        return [Issue("error", f"{path}.code", f"{code!r} is not a well-formed {system} code", "code-invalid")]
    known = terminology.displays(system, str(code))
    if known is None:
        if terminology.knows_system(system) or system in STANDARD_SYSTEMS:
            return [
                Issue("warning", path, f"{system}|{code} is not in the mappings, so it was not checked", "code-invalid")
            ]
        return []
    if display is not None and display not in known:
        expected = " or ".join(repr(d) for d in sorted(known))
        return [
            Issue(
                "error",
                f"{path}.display",
                f"wrong display {display!r} for {system}|{code}: expected {expected}",
                "code-invalid",
            )
        ]
    return []
