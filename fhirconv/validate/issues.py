"""Validation issues: severity, FHIRPath location, message; rendered like the HL7 validator or as OperationOutcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["fatal", "error", "warning", "information"]
_ORDER = {"fatal": 0, "error": 1, "warning": 2, "information": 3}


@dataclass(frozen=True)
class Issue:
    severity: Severity
    location: str
    message: str
    code: str = "invalid"  # OperationOutcome issue type

    @property
    def is_error(self) -> bool:
        return self.severity in {"fatal", "error"}

    def render(self) -> str:
        return f"{self.severity:<11} {self.location}  {self.message}"


def has_errors(issues: Sequence[Issue]) -> bool:
    return any(issue.is_error for issue in issues)


def summary(issues: Sequence[Issue]) -> str:
    errors = sum(1 for i in issues if i.is_error)
    warnings = sum(1 for i in issues if i.severity == "warning")
    notes = sum(1 for i in issues if i.severity == "information")
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}, {_plural(notes, 'note')}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def sorted_issues(issues: Sequence[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (_ORDER[i.severity], i.location, i.message))


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """The issues as an R4 OperationOutcome (an empty report is one 'information' issue, as the spec requires 1..*)."""
    entries = [
        {"severity": i.severity, "code": i.code, "diagnostics": i.message, "expression": [i.location]}
        for i in sorted_issues(issues)
    ] or [{"severity": "information", "code": "informational", "diagnostics": "No issues found."}]
    return {"resourceType": "OperationOutcome", "issue": entries}
