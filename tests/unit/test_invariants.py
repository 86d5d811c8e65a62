"""The R4 invariants (fhirconv.validate.invariants) and the FHIRPath evaluator under them (pure Python)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhirconv.validate import validate_data
from fhirconv.validate.fhirpath import (
    Env,
    FhirPathError,
    Item,
    UnsupportedFunctionError,
    all_children,
    compile_expression,
    evaluate,
    has_value_or_children,
    html_has_content,
    html_ok,
    to_boolean,
)
from fhirconv.validate.invariants import _Run, check_invariants, compile_invariant, load_definitions
from fhirconv.validate.r4index import load_index
from tests.conftest import SAMPLES
from tests.support.invariant_cases import CASES, Case, case


def _failed(resource: dict[str, Any]) -> set[str]:
    issues = check_invariants(resource, str(resource["resourceType"]))
    assert all(i.severity in {"error", "information"} for i in issues)
    return {i.message.split(":")[0] for i in issues if i.severity == "error"}


@pytest.mark.parametrize("item", CASES, ids=lambda c: c.name)
def test_each_case_fails_exactly_its_invariants(item: Case) -> None:
    assert _failed(item.resource) == set(item.fails)


def test_location_and_message_like_hapi() -> None:
    issues = check_invariants(case("obs-3-reference-range-without-bounds").resource, "Observation")
    assert [(i.severity, i.location, i.message, i.code) for i in issues] == [
        ("error", "Observation.referenceRange[1]", "obs-3: Must have at least a low or a high or text", "invariant")
    ]
    [qty] = check_invariants(case("qty-3-code-without-system").resource, "Observation")
    assert qty.location == "Observation.value.ofType(Quantity)"
    assert qty.message == "qty-3: If a code for the unit is present, the system SHALL also be present"
    [tim] = check_invariants(case("tim-1-duration-without-unit").resource, "MedicationRequest")
    assert tim.location == "MedicationRequest.dosageInstruction[0].timing.repeat"


def test_bundle_entries_are_resources_of_their_own() -> None:
    issues = check_invariants(case("bdl-obs-6-inside-entry").resource, "Bundle")
    assert [(i.location, i.message[:6]) for i in issues] == [("Bundle.entry[1].resource", "obs-6:")]
    [bdl] = check_invariants(case("bdl-7-duplicate-full-url").resource, "Bundle[line 2]")
    assert bdl.location == "Bundle[line 2]"


def test_contained_resources_use_the_container_as_root() -> None:
    issues = check_invariants(case("dom-2-nested-contained").resource, "Observation")
    assert {(i.location, i.message[:6]) for i in issues} == {
        ("Observation", "dom-2:"),
        ("Observation.contained[0]", "dom-3:"),
    }


def test_seed_bundle_passes_quickly() -> None:
    bundle = json.loads((SAMPLES / "anti-mda5-dermatomyositis.json").read_text("utf-8"), parse_float=Decimal)
    assert len(bundle["entry"]) == 67
    load_definitions()
    assert check_invariants(bundle, "Bundle") == []
    best = min(_timed(bundle) for _ in range(5))
    assert best < 0.1, f"invariants of the seed bundle took {best * 1000:.0f} ms"


def _timed(bundle: dict[str, Any]) -> float:
    start = time.perf_counter()
    check_invariants(bundle, "Bundle")
    return time.perf_counter() - start


def test_other_sample_passes() -> None:
    bundle = json.loads((SAMPLES / "hypertriglyceridemia-pancreatitis.json").read_text("utf-8"), parse_float=Decimal)
    assert check_invariants(bundle, "Bundle") == []


def test_every_error_invariant_of_r4_compiles() -> None:
    index = load_index()
    keys = set()
    for name in index.type_names:
        for _element, constraint in index.type(name).constraints():
            if constraint.severity == "error":
                invariant = compile_invariant(constraint.key, constraint.human, constraint.expression)
                assert invariant.run is not None, (constraint.key, invariant.why)
                keys.add(constraint.key)
    assert {"ele-1", "dom-2", "dom-3", "obs-6", "obs-7", "bdl-7", "ref-1", "per-1", "sqty-1", "txt-1"} <= keys


def test_an_invariant_that_cannot_be_evaluated_is_reported_once() -> None:
    definitions = load_definitions()
    odd = compile_invariant("zzz-1", "codes from the value set", "code.memberOf('http://example.org/vs')")
    assert odd.run is None and odd.why == "uses memberOf()"
    patched = dataclasses.replace(
        definitions, by_path={**definitions.by_path, "Patient.contact": (odd,)}, by_type=definitions.by_type
    )
    patient = {"resourceType": "Patient", "contact": [{"name": {"text": "a"}}, {"name": {"text": "b"}}]}
    run = _Run(patched, patient)
    run.visit_resource(patient, "Patient", "Patient", "Patient", None)
    assert [(i.severity, i.location, i.message) for i in run.issues] == [
        ("information", "Patient.contact[0]", "not evaluated: zzz-1 uses memberOf()")
    ]


def test_validate_data_reports_invariants() -> None:
    from fhirconv.terminology import Terminology

    issues = validate_data([case("obs-6-value-and-absent-reason").resource], Terminology.load())
    assert any(i.is_error and i.message.startswith("obs-6: ") and i.location == "Observation" for i in issues)


# -- the evaluator -------------------------------------------------------------------------------------------------


def _eval(expression: str, resource: dict[str, Any]) -> list[Any]:
    model = load_definitions().model
    kind = resource["resourceType"]
    return [i.value for i in evaluate(expression, Item(resource, kind, kind), model)]


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "birthDate": "1980-05-01",
    "_birthDate": {"extension": [{"url": "http://example.org/time", "valueTime": "10:00:00"}]},
    "name": [{"given": ["Ann", "Bea"], "family": "Doe"}, {"given": ["Ann"]}],
    "deceasedBoolean": False,
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name.given", ["Ann", "Bea", "Ann"]),
        ("name.given.distinct()", ["Ann", "Bea"]),
        ("name.given.isDistinct()", [False]),
        ("(name.given | name.family).count()", [3]),
        ("Patient.name[1].given", ["Ann"]),
        ("name.where(family.exists()).given.first()", ["Bea"][:0] or ["Ann"]),
        ("name.all(given.exists())", [True]),
        ("name.select(given.count())", [2, 1]),
        ("deceased", [False]),
        ("deceased is boolean", [True]),
        ("deceased.ofType(boolean).exists()", [True]),
        ("birthDate.extension('http://example.org/time').value", ["10:00:00"]),
        ("birthDate.hasValue() and name.hasValue().not()", [True]),
        ("birthDate > @1979", [True]),
        ("birthDate < @1980-05-01T10:00:00Z", []),
        ("birthDate = @1980", []),
        ("birthDate ~ @1980", [False]),
        ("birthDate >= '1980-05-01'", [True]),
        ("gender.startsWith('f')", [False]),
        ("gender.empty() implies true", [True]),
        ("{} implies false", []),
        ("false implies {}", [True]),
        ("true and {}", []),
        ("false and {}", [False]),
        ("true or {}", [True]),
        ("true xor false", [True]),
        ("1 + 2 * 3 = 7", [True]),
        ("7 div 2 = 3 and 7 mod 2 = 1", [True]),
        ("'a' & {} & 'b'", ["ab"]),
        ("'it''s'.length()", []),
        ("'a\\'b'.length()", [3]),
        ("iif(name.exists(), 'yes', 'no')", ["yes"]),
        ("'ab' in ('ab' | 'cd')", [True]),
        ("('ab' | 'cd') contains 'ef'", [False]),
        ("%resource.id = %context.id", [True]),
        ("%ucum", ["http://unitsofmeasure.org"]),
        ("name.given.substring(1)", []),
        ("name[0].given[1].substring(1)", ["ea"]),
        ("'2023'.toInteger() + 1", [2024]),
        ("'12.50'.toDecimal() = 12.5", [True]),
        ("children().count() > id.count()", [True]),
        ("descendants().where($this = 'Bea').count()", [1]),
        ("name.given.first().matches('^A')", [True]),
        ("'x-1'.replaceMatches('-\\\\d', '')", ["x"]),
    ],
)
def test_expressions(expression: str, expected: list[Any]) -> None:
    if expression == "'it''s'.length()":
        with pytest.raises(FhirPathError):
            compile_expression(expression)
        return
    if expression == "name.given.substring(1)":
        with pytest.raises(FhirPathError):
            _eval(expression, PATIENT)
        return
    assert _eval(expression, PATIENT) == expected


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2021-03-01", "2021-03-05", True),
        ("2021-03-05", "2021-03-01", False),
        ("2021", "2022-05", True),
        ("2021-03-01", "2021-03-01T10:00:00Z", False),  # different precision: empty, which fails
        ("2021-03-01T10:00:00+02:00", "2021-03-01T09:00:00Z", True),
        ("2021-03-01T10:00:00.5Z", "2021-03-01T10:00:00Z", False),
    ],
)
def test_period_dates(start: str, end: str, ok: bool) -> None:
    resource = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": {"start": start, "end": end},
    }
    assert _failed(resource) == (set() if ok else {"per-1"})


def test_unknown_function_is_reported_by_name() -> None:
    with pytest.raises(UnsupportedFunctionError) as info:
        compile_expression("code.memberOf('http://example.org/vs')")
    assert info.value.function == "memberOf"


def test_compiled_expressions_are_cached() -> None:
    assert compile_expression("name.exists()") is compile_expression("name.exists()")


def test_narrative_checks() -> None:
    ns = 'xmlns="http://www.w3.org/1999/xhtml"'
    assert html_ok(f"<div {ns}><p>Jane <b>Doe</b></p></div>")
    assert not html_ok(f"<div {ns}><script>x()</script></div>")
    assert not html_ok(f'<div {ns}><p onclick="x()">a</p></div>')
    assert not html_ok("<div>no namespace</div>")
    assert not html_ok(f"<div {ns}><p>unclosed</div>")
    assert html_has_content(f'<div {ns}><img src="a.png"/></div>')
    assert not html_has_content(f"<div {ns}> <p> </p></div>")


# -- the fast path of ele-1 ----------------------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[1] / "agreement" / "corpus"
# Elements the corpus may lack: primitives of the wrong JSON kind (read as absent), "_name" companions alone, empty
# or null ones, unknown properties, arrays where one value is allowed.
ODD_ELEMENTS: list[dict[str, Any]] = [
    {
        "resourceType": "Observation",
        "status": 5,
        "_status": {"id": "s"},
        "code": {"coding": [{"system": True, "code": 1}, {"_code": {"extension": [None]}}, {"display": None}]},
        "valueQuantity": {"value": "12", "_value": {}, "unknown": 1},
        "note": [{"text": "a", "_text": {"id": ""}}, {"_text": {"id": None}}, {}],
        "subject": [{"reference": "Patient/1"}],
        "component": [{"code": {"text": []}, "valueBoolean": "true"}, {"_x": 1}, {"resourceType": "x"}],
    },
    {
        "resourceType": "Patient",
        "name": [{"given": [None, "a", 3], "_given": [{"id": "g"}, None, {}]}, {"given": []}],
        "birthDate": ["2000"],
        "_birthDate": [{"id": "b"}],
        "contact": [{"name": "x"}, {"telecom": [{"value": {}}]}],
        "contained": [{"resourceType": "Patient", "active": "yes"}, {"resourceType": 3}, {"id": "1"}],
    },
]


def _every_element(item: Item, model: Any) -> Iterator[Item]:
    """Every element under ``item`` as FHIRPath's children() sees it (unknown properties too)."""
    for child in all_children(item, model):
        yield child
        yield from _every_element(child, model)


def _corpus() -> list[dict[str, Any]]:
    files = sorted(p for p in CORPUS.glob("*.json") if p.name != "manifest.json")
    assert len(files) > 100
    return [json.loads(p.read_text("utf-8"), parse_float=Decimal) for p in files] + ODD_ELEMENTS


def test_the_fast_ele_1_answers_as_its_fhirpath_on_every_element_of_the_corpus() -> None:
    [ele_1] = {i for i in load_definitions().path_invariants("Observation.status") if i.key == "ele-1"}
    assert ele_1.fast is has_value_or_children and ele_1.run is not None
    model = load_definitions().model
    env = Env(model, {})
    compared = failures = 0
    for resource in _corpus():
        kind = resource["resourceType"]
        for item in _every_element(Item(resource, kind, kind), model):
            env.this = [item]
            expected = to_boolean(ele_1.run([item], env))
            assert has_value_or_children(item.value, item.ext, item.type_key, model) is expected, (kind, item)
            compared += 1
            failures += not expected
    assert compared > 30_000 and failures > 5


def test_validating_the_seed_builds_only_the_types_it_uses() -> None:
    """Cold start: the definitions of a type are built on first use, not all of R4's at the first call."""
    script = (
        "from decimal import Decimal; import json, sys\n"
        "from fhirconv.terminology import Terminology\n"
        "from fhirconv.validate import validate_data\n"
        "from fhirconv.validate.r4index import load_index\n"
        "bundle = json.loads(open(sys.argv[1], encoding='utf-8').read(), parse_float=Decimal)\n"
        "validate_data([bundle], Terminology.load())\n"
        "print(len(load_index()._types), len(load_index().type_names))\n"
    )
    seed = SAMPLES / "anti-mda5-dermatomyositis.json"
    output = subprocess.run([sys.executable, "-c", script, str(seed)], check=True, capture_output=True, text=True)
    built, total = (int(n) for n in output.stdout.split())
    assert total > 200 and built < 80, f"{built} of {total} types built"
