"""Our R4 invariant verdicts agree with HAPI FHIR's validator on small broken (and fine) resources.

For every case of tests/support/invariant_cases.py, the set of invariant keys HAPI reports as errors must be the
case's ``fails`` and what fhirconv.validate.invariants reports. HAPI says a few of them in its own words: an
orphan contained resource (CONTAINED_ORPHAN_DOM3) is dom-3, "Object must have some content" is ele-1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fhirconv.validate.invariants import check_invariants
from tests.support.hapi_validator import HapiIssue, HapiValidator, hapi_available
from tests.support.invariant_cases import CASES, Case

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hapi_available(), reason="HAPI validator harness needs java and mvn on PATH"),
]

_CONSTRAINT = re.compile(r"Constraint failed: ([A-Za-z0-9\-]+): ")


def _hapi_invariants(issues: list[HapiIssue]) -> set[str]:
    keys: set[str] = set()
    for issue in issues:
        if not issue.is_error:
            continue
        match = _CONSTRAINT.match(issue.message)
        if match:
            keys.add(match.group(1))
        elif issue.message_id == "CONTAINED_ORPHAN_DOM3":
            keys.add("dom-3")
        elif issue.message == "Object must have some content":
            keys.add("ele-1")
    return keys


@pytest.mark.parametrize("item", CASES, ids=lambda c: c.name)
def test_same_verdict_as_hapi(item: Case, hapi_validator: HapiValidator, tmp_path: Path) -> None:
    path = tmp_path / f"{item.name}.json"
    path.write_text(json.dumps(item.resource, indent=2), encoding="utf-8")
    hapi = _hapi_invariants(hapi_validator.validate(path))
    ours = {
        i.message.split(":")[0]
        for i in check_invariants(item.resource, str(item.resource["resourceType"]))
        if i.severity == "error"
    }
    assert hapi == set(item.fails), f"HAPI: {sorted(hapi)}"
    assert ours == hapi
