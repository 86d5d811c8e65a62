"""OperationOutcome rendered for people: one line per issue, severity, location, diagnostics."""

from __future__ import annotations

from typing import Any


def outcome_lines(outcome: Any) -> list[str]:
    """``error  Observation.status  Unknown code 'done'`` lines for each issue of an OperationOutcome."""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return []
    lines = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        severity = str(issue.get("severity") or "error")
        where = ", ".join(str(e) for e in issue.get("expression") or issue.get("location") or []) or "-"
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or issue.get("code") or ""
        lines.append(f"{severity:<11} {where}  {' '.join(str(text).split())}")
    return lines
