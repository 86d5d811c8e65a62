"""Validation: returns every issue found (severity, FHIRPath location, message); never stops at the first."""

from __future__ import annotations

from typing import Any

from fhirconv.terminology import Terminology
from fhirconv.validate.checks import check_codes
from fhirconv.validate.invariants import check_invariants
from fhirconv.validate.issues import Issue, has_errors, operation_outcome, sorted_issues, summary
from fhirconv.validate.profiles import ProfileSet, check_profiles
from fhirconv.validate.reader import read_fhir
from fhirconv.validate.structure import check_resource


def validate_data(
    resources: list[dict[str, Any]],
    terminology: Terminology,
    *,
    profiles: ProfileSet | None = None,
) -> list[Issue]:
    """Validate resources given as FHIR JSON data (a Bundle is one resource).

    Structure, required bindings and references are checked against the official R4 definitions
    (:func:`fhirconv.validate.structure.check_resource`), their error-level FHIRPath invariants too
    (:func:`fhirconv.validate.invariants.check_invariants`), codes and UCUM units against the bundled tables.
    A resource declaring ``meta.profile`` is checked against each profile ``profiles`` holds, R4's own profiles
    (vitalsigns, bodyweight, ...) included, and against those alone when ``profiles`` is None
    (:func:`fhirconv.validate.profiles.check_profiles`); a profile that is not available (and is not an R4 base
    type) gives a warning saying it was not checked.
    """
    issues: list[Issue] = []
    for number, resource in enumerate(resources):
        base = (
            str(resource.get("resourceType"))
            if len(resources) == 1
            else f"{resource.get('resourceType')}[line {number + 1}]"
        )
        issues.extend(check_resource(resource, base))
        issues.extend(check_invariants(resource, base))
        issues.extend(check_codes(resource, base, terminology))
        if isinstance(resource, dict):
            issues.extend(check_profiles(resource, base, profiles))
    return sorted_issues(issues)


__all__ = [
    "Issue",
    "ProfileSet",
    "has_errors",
    "operation_outcome",
    "read_fhir",
    "sorted_issues",
    "summary",
    "validate_data",
]
