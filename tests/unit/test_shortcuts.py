"""The invariant shortcuts (fhirconv.validate.shortcuts) skip evaluations without changing any issue."""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhirconv.validate.invariants import Invariant, check_invariants
from fhirconv.validate.r4index import load_index
from fhirconv.validate.shortcuts import SHORTCUTS, Shortcut
from tests.conftest import SAMPLES
from tests.support.invariant_cases import CASES

CORPUS = Path(__file__).resolve().parents[1] / "agreement" / "corpus"


def _resources() -> list[dict[str, Any]]:
    files = sorted(p for p in CORPUS.glob("*.json") if p.name != "manifest.json")
    files.append(SAMPLES / "anti-mda5-dermatomyositis.json")
    found = [json.loads(p.read_text("utf-8"), parse_float=Decimal) for p in files]
    return found + [copy.deepcopy(c.resource) for c in CASES]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, value)]
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(_nodes(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.extend(_nodes(child, (*path, index)))
    return out


def _mutants(resources: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Values the parser cannot read where the shortcuts look: arrays, nulls, wrong kinds, companions."""
    rng = random.Random(7)
    out = []
    for _ in range(count):
        resource = copy.deepcopy(rng.choice(resources))
        path, value = rng.choice([(p, v) for p, v in _nodes(resource) if p and isinstance(p[-1], str)])
        parent = resource
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        change = rng.randrange(6)
        if change == 0:
            parent[key] = [value, value]
        elif change == 1:
            parent[key] = None
        elif change == 2:
            parent[key] = 7
        elif change == 3:
            parent["_" + key] = [{"id": "c"}] if not isinstance(value, list) else {"id": "c"}
        elif change == 4:
            parent[key] = "#x" if key == "reference" else "entered-in-error"
        else:
            parent[key] = {}
        out.append(resource)
    return out


def _outcome(resource: dict[str, Any]) -> Any:
    """The issues, or the exception (some mutants make the evaluator fail, with or without the shortcuts)."""
    try:
        return check_invariants(resource, str(resource.get("resourceType")))
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return (type(exc).__name__, str(exc))


def test_each_shortcut_is_for_an_expression_of_the_definitions() -> None:
    """A shortcut is found by the text of its expression: a typo would leave it unused."""
    index = load_index()
    texts = {
        Invariant(c.key, c.human, c.expression).text
        for n in index.type_names
        if index.has_type(n)
        for _, c in index.type(n).constraints()
    }
    assert set(SHORTCUTS) <= texts


def test_the_shortcuts_change_no_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every issue (and every failure of the evaluator) is the same with and without the shortcuts, on the corpus,
    the invariant cases and mutants of them."""
    resources = _resources()
    resources += _mutants(resources, 1500)
    held = 0

    def counted(invariant: Invariant) -> Shortcut | None:
        shortcut = SHORTCUTS.get(invariant.text)
        if shortcut is None:
            return None

        def run(*args: Any) -> bool:
            nonlocal held
            answer = shortcut(*args)
            held += answer
            return answer

        return run

    monkeypatch.setattr(Invariant, "shortcut", property(counted))
    with_shortcuts = [_outcome(r) for r in resources]
    assert held > 10_000
    monkeypatch.setattr(Invariant, "shortcut", property(lambda self: None))
    without = [_outcome(r) for r in resources]
    assert with_shortcuts == without
    assert sum(len(i) for i in without if isinstance(i, list)) > 500
