"""The terminology checks of ``fhirconv validate``: codings against the bundled tables (codes, displays), UCUM.

Structure, required bindings and references are checked by :mod:`fhirconv.validate.structure`. Each check walks
FHIR JSON data and returns every issue it finds, located by a FHIRPath-like path.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fhirconv.errors import UcumError
from fhirconv.terminology import Terminology
from fhirconv.terminology.codes import STANDARD_SYSTEMS, UCUM, code_shape_ok
from fhirconv.ucum import is_valid_ucum, parse_ucum
from fhirconv.validate.issues import Issue, Severity

# Elements of type Coding (CodeableConcept.coding, Encounter.class, Meta.tag/security).
_CODING_ELEMENTS = frozenset({"coding", "class", "tag", "security"})


# Where an object is: the root's name, or (where its parent is, property name, array index or None). Written out
# only for an issue: most objects have none, and writing each one's path cost a tenth of the check.
_Path = str | tuple[Any, str, int | None]


def _written(path: _Path) -> str:
    """``Bundle.entry[3].resource.code``: the path with the JSON names."""
    steps: list[str] = []
    while not isinstance(path, str):
        path, key, index = path
        steps.append(f".{key}" if index is None else f".{key}[{index}]")
    return path + "".join(reversed(steps))


def check_codes(resource: dict[str, Any], base: str, terminology: Terminology) -> list[Issue]:
    """Codings: a system and a code; codes of the tables' systems with their exact display; UCUM codes valid.

    Every JSON object of the resource is looked at (its path written with the JSON names: ``valueQuantity``), known
    element or not; an object is a coding when it is the value of a property named like a Coding element."""
    issues: list[Issue] = []
    if isinstance(resource, dict):
        _check_object(resource, base, _element_name(base), terminology, issues)
    return issues


def _check_object(obj: dict[str, Any], path: _Path, name: str, terminology: Terminology, issues: list[Issue]) -> None:
    """Checks ``obj`` (the value of the property ``name``, at ``path``), then the objects under it, depth first.
    A plain recursion, not a generator: nested generators pass each object up through every level."""
    if name in _CODING_ELEMENTS:
        issues.extend(_check_coding(path, obj, terminology))
    else:
        code = obj.get("code")
        if isinstance(code, str) and obj.get("system") == UCUM and _ucum_problems(code):
            issues.extend(ucum_issues(code, f"{_written(path)}.code"))
    for key, child in obj.items():
        if isinstance(child, list):
            child_name = _element_name(key)
            for index, item in enumerate(child):
                if isinstance(item, dict):
                    _check_object(item, (path, key, index), child_name, terminology, issues)
        elif isinstance(child, dict):
            _check_object(child, (path, key, None), _element_name(key), terminology, issues)


def _element_name(key: str) -> str:
    """The element name that a path ending in ``{key}`` or ``{key}[n]`` names (a JSON key may hold dots or
    brackets: the name is after the last dot, before the first bracket)."""
    if "." in key or "[" in key:
        return key.rsplit(".", 1)[-1].split("[")[0]
    return key


def ucum_issues(code: str, location: str) -> list[Issue]:
    """An invalid UCUM code is an error; forms HAPI's validator lets through are warnings, so that both agree on what
    is an error: a doubled '/' or a stray ')' (HAPI's lexer skips them), and valid codes that clinical text rarely
    means (G/L is gauss per litre)."""
    return [Issue(severity, location, message, "code-invalid") for severity, message in _ucum_problems(code)]


@lru_cache(maxsize=1024)
def _ucum_problems(code: str) -> tuple[tuple[Severity, str], ...]:
    """(severity, message) of each problem of a UCUM code; cached, as a bundle repeats the same few units."""
    try:
        parse_ucum(code, clinical=False)
    except UcumError as exc:
        lenient = (
            code.replace("//", "/").replace(")", "") if code.count(")") > code.count("(") else code.replace("//", "/")
        )
        if lenient != code and is_valid_ucum(lenient, clinical=False):
            return (("warning", f"{exc.message}; HAPI's validator accepts it"),)
        return (("error", exc.message),)
    try:
        parse_ucum(code)
    except UcumError as exc:
        return (
            (
                "warning",
                f"{code!r} is valid UCUM but probably not what was meant: {exc.message.split(': ', 1)[-1]}",
            ),
        )
    return ()


def _check_coding(path: _Path, coding: dict[str, Any], terminology: Terminology) -> list[Issue]:
    system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
    if any(value is not None and not isinstance(value, str) for value in (system, code, display)):
        return []  # a value of the wrong JSON kind: the structure check reports it
    # Severities follow HAPI's validator, so that an error here is an error there: a coding without system or code
    # is legal R4 but meaningless, and a display the tables disagree with is worth a warning.
    if not system:
        return [
            Issue("warning", _written(path), "the coding has no system, so its code has no defined meaning", "required")
        ]
    if not code:
        return [Issue("warning", _written(path), "the coding has no code", "required")]
    if system == UCUM:
        return ucum_issues(str(code), f"{_written(path)}.code")
    if system in STANDARD_SYSTEMS and not code_shape_ok(system, str(code)):
        return [
            Issue("error", f"{_written(path)}.code", f"{code!r} is not a well-formed {system} code", "code-invalid")
        ]
    known = terminology.displays(system, str(code))
    if known is None:
        if terminology.knows_system(system) or system in STANDARD_SYSTEMS:
            return [
                Issue(
                    "warning",
                    _written(path),
                    f"{system}|{code} is not in the mappings, so it was not checked",
                    "code-invalid",
                )
            ]
        return []
    if display is not None and display not in known:
        expected = " or ".join(repr(d) for d in sorted(known))
        return [
            Issue(
                "warning",
                f"{_written(path)}.display",
                f"wrong display {display!r} for {system}|{code}: expected {expected}",
                "code-invalid",
            )
        ]
    return []
