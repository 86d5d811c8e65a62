"""fhirconv.ucum: the UCUM parser, its generated table, and mappings/units.yaml."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from fhirconv.ucum import (
    Annotation,
    Group,
    Symbol,
    UcumError,
    is_valid_ucum,
    load_table,
    parse_ucum,
    same_dimension,
)

REPO = Path(__file__).resolve().parents[2]
TABLE_PATH = REPO / "fhirconv" / "data" / "ucum.json"
UNITS_YAML = REPO / "mappings" / "units.yaml"
GENERATOR = REPO / "scripts" / "generate_ucum_table.py"

ACCEPTED = [
    "U/L", "10*9/L", "10*3/uL", "mm[Hg]", "[pH]", "%", "/min", "g/L", "g/dL", "mmol/L", "umol/L", "mg/kg",
    "mg/m2", "mg/d", "{score}", "{pack-years}", "a", "mo", "d", "h", "min", "s", "wk", "Cel", "kg", "cm",
    "kg/m2", "mL/min/{1.73_m2}", "[IU]/L", "ng/mL", "fL", "pg", "1", "10*12/L", "mm/h", "meq/L", "mosm/kg",
    "[in_i]", "[lb_av]", "/[HPF]", "{ratio}", "mg/(kg.d)",
    # beyond the brief's list: exponents, factors, odd atoms from the table
    "10^3", "10*", "10*-3", "m2", "s-1", "s+1", "m0", "10.L", "4.[pi]", "10*9{cells}/L", "[in_i'Hg]",
    "kg.m/s2", "[degF]", "[arb'U]", "B[10.nV]", "cal_[15]", "m[H2O]", "%[slope]", "(mg)", "((mg))",
    "{a}/{b}", "m{}", "/1", "mg%", "KiBy", "[m/s2/Hz^(1/2)]", "k[IU]/L", "cd", "''",
]  # fmt: skip

REJECTED = [
    "G/L", "UI/L", "mmHg", "mg/jour", "kft", "m//s", "10*9/", "/", "", "mg /d",
    "{abc", "abc}", "(mg", "mg)", "mg/(kg.d", "[IU", "IU]", "()", "m.", ".m", "//m", "m/",
    "k[ft_i]", "kh", "kmo", "1{ratio}", "m{a}{b}", "m2{a}3", "µg", "mcg", "mEq/L", "m-", "-1", "m/-1",
    "2mg", "{a b}", "m{é}", "°C", "pH", "mg\t/d", "mg/d ", "m^2", "10**3", "[]",
]  # fmt: skip

# Written forms that are valid UCUM as written but mean another unit in clinical text (see units.yaml).
CLINICAL_HOMONYMS = {"AU/mL", "T/L", "T/l", "K/uL", "ft", "PA"}


@pytest.mark.parametrize("code", ACCEPTED)
def test_accepts(code: str) -> None:
    assert is_valid_ucum(code)
    assert parse_ucum(code).code == code


@pytest.mark.parametrize("code", REJECTED)
def test_rejects(code: str) -> None:
    assert not is_valid_ucum(code)
    with pytest.raises(UcumError) as caught:
        parse_ucum(code)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == code
    assert 0 <= error.position <= len(code)
    assert repr(code) in str(error)


@pytest.mark.parametrize(
    ("code", "position", "fragment"),
    [
        ("mg /d", 2, "spaces are not allowed"),
        ("m//s", 2, "a unit is missing before '/'"),
        ("10*9/", 5, "missing at the end"),
        ("/", 1, "missing at the end"),
        ("", 0, "empty"),
        ("mg/jour", 3, "unknown unit 'jour'"),
        ("UI/L", 0, "unknown unit 'UI'"),
        ("kh", 0, "prefix 'k' cannot be used with 'h'"),
        ("k[ft_i]", 0, "not a metric unit"),
        ("mmHg", 0, "did you mean 'mm[Hg]'?"),
        ("IU/L", 0, "did you mean '[IU]'?"),
        ("mEq/L", 0, "did you mean 'meq'?"),
        ("mg/(kg.d", 3, "'(' without a matching ')'"),
        ("mg/kg.d)", 7, "')' without a matching '('"),
        ("{abc", 0, "'{' without a matching '}'"),
        ("[IU", 0, "'[' without a matching ']'"),
        ("IU]", 2, "']' without a matching '['"),
        ("1{ratio}", 1, "annotation may only follow a unit symbol"),
        ("µg", 0, "micro is written 'u'"),
        ("m-", 1, "followed by the digits"),
        ("G/L", 0, "10*9/L"),
        ("pH", 0, "[pH]"),
        ("mg/m2 x", 5, "spaces"),
    ],
)
def test_error_position_and_message(code: str, position: int, fragment: str) -> None:
    with pytest.raises(UcumError) as caught:
        parse_ucum(code)
    assert caught.value.position == position
    assert fragment in str(caught.value)
    assert f"at position {position}" in str(caught.value)


def test_first_error_in_reading_order_is_reported() -> None:
    # The lexer runs with the parser, so a space later on does not hide the '//' before it.
    with pytest.raises(UcumError) as caught:
        parse_ucum("m//s x")
    assert caught.value.position == 2


def test_clinical_confusables_are_valid_ucum_when_asked() -> None:
    assert is_valid_ucum("G/L", clinical=False)  # gauss per litre
    assert is_valid_ucum("pH", clinical=False)  # picohenry
    assert not is_valid_ucum("G/L")


def test_structure_of_a_parsed_code() -> None:
    expression = parse_ucum("mg/(kg.d)")
    first, second = expression.term.operands
    assert first.operator == "."
    assert first.component == Symbol("m", "g", 1, None, 0)
    assert second.operator == "/"
    assert isinstance(second.component, Group)
    assert [s.code for s in expression.symbols()] == ["mg", "kg", "d"]


def test_ten_star_is_an_atom_with_an_exponent() -> None:
    (operand, per_litre) = parse_ucum("10*9{cells}/L").term.operands
    assert operand.component == Symbol("", "10*", 9, "cells", 0)
    assert per_litre.operator == "/"


def test_leading_solidus_signed_exponent_and_annotations() -> None:
    assert parse_ucum("/min").term.operands[0].operator == "/"
    assert next(parse_ucum("m-2").symbols()).exponent == -2
    expression = parse_ucum("mL/min/{1.73_m2}")
    assert expression.annotations == ("1.73_m2",)
    assert isinstance(expression.term.operands[-1].component, Annotation)


def test_whole_atom_wins_over_prefix_plus_atom() -> None:
    assert next(parse_ucum("cd").symbols()) == Symbol("", "cd", 1, None, 0)  # candela, not centi-day
    assert next(parse_ucum("dam").symbols()).prefix == "da"  # deka- before deci-


def test_special_and_arbitrary_flags() -> None:
    assert parse_ucum("Cel").is_special
    assert parse_ucum("[pH]").is_special
    assert not parse_ucum("K").is_special
    assert parse_ucum("[IU]/L").is_arbitrary
    assert not parse_ucum("U/L").is_arbitrary


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("mg/dL", "g/L", True),
        ("mmol/L", "umol/L", True),
        ("10*9/L", "/nL", True),
        ("mL/min/{1.73_m2}", "L/h", True),
        ("{score}", "1", True),
        ("%", "1", True),
        ("Cel", "K", True),
        ("[degF]", "Cel", True),
        ("[IU]/L", "m[IU]/mL", True),
        ("[lb_av]", "kg", True),
        ("[in_i]", "cm", True),
        ("mm[Hg]", "kPa", True),
        ("mg/(kg.d)", "mg/kg/d", True),
        ("mg/kg.d", "mg/(kg.d)", False),
        ("mg", "mL", False),
        ("[IU]/L", "[arb'U]/L", False),
        ("[IU]/L", "U/L", False),
        ("/min", "Hz", True),
        ("a", "mo", True),
    ],
)
def test_same_dimension(a: str, b: str, same: bool) -> None:
    assert same_dimension(a, b) is same


def test_same_dimension_rejects_invalid_codes() -> None:
    with pytest.raises(UcumError):
        same_dimension("mg", "mcg")


# ------------------------------------------------------------------------------------------- the table


def test_table_content() -> None:
    table = load_table()
    assert table.version
    assert table.prefixes["k"] == "1e3"
    assert table.units["m"].base
    assert table.units["m"].metric
    assert table.units["[IU]"].arbitrary
    assert table.units["[IU]"].metric
    assert table.units["Cel"].special
    assert table.units["Cel"].metric
    assert not table.units["[ft_i]"].metric
    assert not table.units["h"].metric
    assert table.units["10*"].dim == {}
    assert table.units["N"].dim == {"L": 1, "M": 1, "T": -2}
    assert load_table() is table  # loaded once


def test_table_is_sorted_json_with_a_source_header() -> None:
    document = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    assert list(document) == sorted(document)
    assert list(document["units"]) == sorted(document["units"])
    source = document["source"]
    assert source["artifact"].startswith("org.fhir:ucum:")
    assert source["ucum_version"]
    assert len(source["sha256"]) == len(hashlib.sha256().hexdigest())


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_ucum_table", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _recorded_jar() -> Path:
    """Where Maven puts the artifact the committed table names (org.fhir:ucum:VERSION)."""
    artifact = str(json.loads(TABLE_PATH.read_text(encoding="utf-8"))["source"]["artifact"])
    version = artifact.removeprefix("org.fhir:ucum:")
    return Path.home() / ".m2" / "repository" / "org" / "fhir" / "ucum" / version / f"ucum-{version}.jar"


def test_generated_table_is_in_sync_with_the_generator(tmp_path: Path) -> None:
    jar = _recorded_jar()
    if not jar.is_file():
        pytest.skip(
            f"ucum-essence.xml not available: {jar} is missing "
            f"(mvn -q dependency:get -Dartifact=org.fhir:ucum:{jar.parent.name})"
        )
    generator = _load_generator()
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    generator.generate(jar, first)
    generator.generate(jar, second)
    assert first.read_bytes() == second.read_bytes(), "the generator is not deterministic"
    assert first.read_bytes() == TABLE_PATH.read_bytes(), "regenerate: python scripts/generate_ucum_table.py"


# ----------------------------------------------------------------------------------------- units.yaml


def _unit_entries() -> list[dict[str, Any]]:
    document = yaml.safe_load(UNITS_YAML.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = document["units"]
    return entries


def test_units_yaml_shape() -> None:
    entries = _unit_entries()
    assert len(entries) >= 80
    for entry in entries:
        assert set(entry) == {"written", "ucum", "display"}, entry
        assert entry["written"]
        assert all(isinstance(w, str) and w.strip() == w and w for w in entry["written"])
        assert isinstance(entry["ucum"], str)
        assert isinstance(entry["display"], str)
        assert entry["display"]


def test_units_yaml_codes_are_valid_ucum() -> None:
    invalid = [entry["ucum"] for entry in _unit_entries() if not is_valid_ucum(entry["ucum"])]
    assert not invalid


def test_units_yaml_written_forms_are_unique() -> None:
    counts = Counter(form for entry in _unit_entries() for form in entry["written"])
    assert not [form for form, count in counts.items() if count > 1]


def test_units_yaml_covers_the_brief() -> None:
    mapping = {form: entry["ucum"] for entry in _unit_entries() for form in entry["written"]}
    expected = {
        "G/L": "10*9/L", "UI/L": "U/L", "mmHg": "mm[Hg]", "bpm": "/min", "breaths/min": "/min", "°C": "Cel",
        "mg/m²": "mg/m2", "mg/jour": "mg/d", "mg/j": "mg/d", "mg/day": "mg/d", "µg": "ug", "mcg": "ug",
        "µmol/L": "umol/L", "mEq/L": "meq/L", "paquets-années": "{pack-years}", "ans": "a", "mois": "mo",
        "semaines": "wk", "jours": "d", "score": "{score}", "pH": "[pH]", "UI": "[IU]", "IU": "[IU]",
    }  # fmt: skip
    assert {form: mapping.get(form) for form in expected} == expected


def test_written_forms_that_are_ucum_keep_their_dimension() -> None:
    # A form that is valid UCUM as written must not be silently mapped to a unit of another kind.
    wrong = [
        (form, entry["ucum"])
        for entry in _unit_entries()
        for form in entry["written"]
        if form not in CLINICAL_HOMONYMS and is_valid_ucum(form) and not same_dimension(form, entry["ucum"])
    ]
    assert not wrong
    assert all(is_valid_ucum(form) for form in CLINICAL_HOMONYMS), "stale CLINICAL_HOMONYMS entry"
