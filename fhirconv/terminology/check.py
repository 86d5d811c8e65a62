"""``fhirconv mappings check``: everything wrong with the tables, one line each."""

from __future__ import annotations

from fhirconv.terminology.codes import STANDARD_SYSTEMS, code_shape_ok
from fhirconv.terminology.lookup import Terminology
from fhirconv.terminology.tables import CATEGORIES, KINDS
from fhirconv.ucum import is_valid_ucum

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def check_tables(terminology: Terminology) -> list[str]:
    """Problems that loading does not already refuse: key shape, kinds, code shapes, displays, units, sources."""
    problems: list[str] = []
    seen_display: dict[tuple[str, str], tuple[str, str]] = {}
    for concept in terminology.concepts:
        where = f"{concept.origin}: {concept.key}"
        if not set(concept.key) <= _KEY_CHARS:
            problems.append(f"{where}: key must be lowercase letters, digits and '-'")
        if concept.kind not in KINDS:
            problems.append(f"{where}: unknown kind {concept.kind!r} (one of {', '.join(sorted(KINDS))})")
        allowed = CATEGORIES.get(concept.kind)
        if concept.category is not None and allowed is not None and concept.category not in allowed:
            problems.append(f"{where}: category {concept.category!r} is not one of {', '.join(sorted(allowed))}")
        if concept.unit is not None and not is_valid_ucum(concept.unit):
            problems.append(f"{where}: unit {concept.unit!r} is not valid UCUM")
        for coding in concept.codings:
            if not coding.system.startswith(("http://", "https://", "urn:")):
                problems.append(f"{where}: system {coding.system!r} is not a URI")
            elif not code_shape_ok(coding.system, coding.code):
                kind = "a well-formed code" if coding.system in STANDARD_SYSTEMS else "a code"
                problems.append(f"{where}: {coding.code!r} is not {kind} of {coding.system}")
            previous = seen_display.get((coding.system, coding.code))
            if previous is not None and previous[0] != coding.display:
                problems.append(
                    f"{where}: {coding.system}|{coding.code} has display {coding.display!r} here and "
                    f"{previous[0]!r} in {previous[1]}"
                )
            seen_display.setdefault((coding.system, coding.code), (coding.display, concept.key))
            if not coding.source.strip():
                problems.append(f"{where}: {coding.code} has no source")
    for unit in terminology.tables.units:
        if not is_valid_ucum(unit.ucum):
            problems.append(f"{unit.origin}: {unit.ucum!r} is not valid UCUM")
    return problems
