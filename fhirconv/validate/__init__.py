"""Validation: returns every issue found (severity, FHIRPath location, message); never stops at the first."""

from __future__ import annotations

from typing import Any

from fhirconv.terminology import Terminology
from fhirconv.validate.checks import check_codes, check_references, check_structure
from fhirconv.validate.issues import Issue, has_errors, operation_outcome, sorted_issues, summary
from fhirconv.validate.reader import read_fhir


def validate_data(resources: list[dict[str, Any]], terminology: Terminology, *, structure: bool = True) -> list[Issue]:
    """Validate resources given as FHIR JSON data (a Bundle is one resource).

    ``structure=False`` skips parsing with the R4B models, for data that was just built from those models.
    """
    issues: list[Issue] = []
    for number, resource in enumerate(resources):
        base = (
            str(resource.get("resourceType"))
            if len(resources) == 1
            else f"{resource.get('resourceType')}[line {number + 1}]"
        )
        if structure:
            issues.extend(check_structure(resource, base))
        issues.extend(check_references(resource))
        issues.extend(check_codes(resource, base, terminology))
    return sorted_issues(issues)


__all__ = ["Issue", "has_errors", "operation_outcome", "read_fhir", "sorted_issues", "summary", "validate_data"]
