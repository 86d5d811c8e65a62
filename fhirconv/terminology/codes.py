"""Shape checks for codes of the standard systems: they catch typos, not wrong meanings."""

from __future__ import annotations

import re
from collections.abc import Callable

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
UCUM = "http://unitsofmeasure.org"

_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_ok(digits: str) -> bool:
    check = 0
    for position, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(char)]]
    return check == 0


def loinc_ok(code: str) -> bool:
    """LOINC term codes end in a mod-10 check digit; answer (LA) and part (LP) codes are only checked for shape."""
    if re.fullmatch(r"L[AP]\d{1,8}-\d", code):
        return True
    match = re.fullmatch(r"(\d{1,7})-(\d)", code)
    if not match:
        return False
    body, check = match.groups()
    total = 0
    # Luhn-style: double every second digit from the right of the body.
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(check)


def snomed_ok(code: str) -> bool:
    return (
        bool(re.fullmatch(r"[1-9]\d{5,17}", code))
        and verhoeff_ok(code)
        and code[-3:-1] in {"00", "01", "02", "10", "11", "12"}
    )


_CHECKERS: dict[str, Callable[[str], bool]] = {
    SNOMED: snomed_ok,
    LOINC: loinc_ok,
    RXNORM: lambda code: bool(re.fullmatch(r"[1-9]\d{0,9}", code)),
    ATC: lambda code: bool(re.fullmatch(r"[A-Z](\d\d([A-Z]([A-Z](\d\d)?)?)?)?", code)),
    ICD10: lambda code: bool(re.fullmatch(r"[A-Z]\d\d(\.\d{1,2})?", code)),
    ICD10CM: lambda code: bool(re.fullmatch(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?", code)),
    ICDO3: lambda code: bool(re.fullmatch(r"(\d{4}/\d|C\d\d(\.\d)?)", code)),
}

STANDARD_SYSTEMS = frozenset(_CHECKERS)


def code_shape_ok(system: str, code: str) -> bool:
    """True when ``code`` has the shape codes of ``system`` have; systems without a known shape pass."""
    checker = _CHECKERS.get(system)
    return checker(code) if checker else bool(code.strip()) and code == code.strip()
