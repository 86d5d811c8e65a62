"""The command line as users meet it: exit codes, exact one-line messages, nothing written on failure."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fhirconv.cli import build_parser, main
from tests.conftest import MINIMAL_CASE, SEED


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_convert_writes_a_transaction_bundle(tmp_path: Path) -> None:
    target = tmp_path / "bundle.json"
    code, _, err = run("convert", str(SEED), "-o", str(target))
    assert code == 0, err
    bundle = json.loads(target.read_text("utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    assert err == f"fhirconv: wrote {target} ({len(bundle['entry'])} resources, transaction bundle, json)\n"


def test_validate_accepts_what_convert_writes(tmp_path: Path) -> None:
    for output_format in ("json", "xml"):
        target = tmp_path / f"bundle.{output_format}"
        assert run("convert", str(SEED), "--format", output_format, "-o", str(target))[0] == 0
        code, out, _ = run("validate", str(target))
        assert code == 0
        assert out.endswith(f"{target}: 0 errors, 0 warnings, 0 notes\n")


def test_validate_reports_every_problem_with_its_location(tmp_path: Path) -> None:
    target = tmp_path / "bundle.json"
    run("convert", str(SEED), "-o", str(target))
    bundle = json.loads(target.read_text("utf-8"))
    bundle["entry"][1]["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    ck = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"].get("identifier", [{}])[0].get("value") == "Observation/ck"
    )
    ck["code"]["coding"][0]["display"] = "CK"
    ck["valueQuantity"]["code"] = "UI/L"
    target.write_text(json.dumps(bundle), "utf-8")
    code, out, _ = run("validate", str(target))
    assert code == 1
    lines = out.splitlines()
    assert (
        "warning     Bundle.entry[1].resource.subject  urn:uuid:00000000-0000-0000-0000-000000000000 does not resolve inside the bundle: no entry has this fullUrl"
        in lines
    )
    assert (
        "warning     Bundle.entry[27].resource.code.coding[0].display  wrong display 'CK' for http://loinc.org|2157-6: "
        "expected 'Creatine kinase [Enzymatic activity/volume] in Serum or Plasma'" in lines
    )
    assert "error       Bundle.entry[27].resource.valueQuantity.code  'UI/L' is not valid UCUM at position 0: unknown unit 'UI'" in lines
    assert lines[-1] == f"{target}: 1 error, 2 warnings, 0 notes"
    code, out, _ = run("validate", str(target), "--format", "json")
    outcome = json.loads(out)
    assert code == 1 and outcome["resourceType"] == "OperationOutcome" and len(outcome["issue"]) == 3


def test_ndjson_has_one_resource_per_line_with_relative_references(tmp_path: Path) -> None:
    target = tmp_path / "out.ndjson"
    assert run("convert", str(SEED), "--format", "ndjson", "-o", str(target))[0] == 0
    lines = target.read_text("utf-8").splitlines()
    resources = [json.loads(line) for line in lines]
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    assert "urn:uuid:" not in target.read_text("utf-8")
    assert resources[1]["subject"]["reference"] in ids


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"",
            "case.yaml:1:1: the file is empty (hint: a case file starts with 'format: fhirconv-case/1'; run 'fhirconv schema' for the format)",
        ),
        (
            b"\x00\x01\x02binary",
            "case.yaml:1: the file is binary, not YAML or JSON text (hint: give a UTF-8 text file)",
        ),
        (
            b"format: [\n",
            "case.yaml:2:1: YAML syntax error: expected the node content, but found '<stream end>' (hint: check indentation and quoting on this line or the one before)",
        ),
    ],
)
def test_unreadable_files_get_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "case.yaml"
    path.write_bytes(content)
    code, out, err = run("convert", str(path), "-o", str(tmp_path / "out.json"))
    assert code == 1
    assert err == f"fhirconv: error: {tmp_path}/{expected}\n"
    assert not (tmp_path / "out.json").exists()
    assert out == ""


def test_schema_errors_name_line_field_and_hint(write_case: Callable[..., Path], tmp_path: Path) -> None:
    path = write_case(MINIMAL_CASE.replace("  sex: male\n", "  sex: male\n  colour: blue\n"))
    code, _, err = run("convert", str(path))
    assert code == 1
    assert err == (
        f"fhirconv: error: {path}:13:3: patient.colour: unknown field 'colour' "
        "(hint: remove it or check its spelling; 'fhirconv schema' lists every field)\n"
    )
    path = write_case(MINIMAL_CASE.replace("sex: male", "sex: yes please"))
    code, _, err = run("convert", str(path))
    assert code == 1
    assert err.startswith(
        f"fhirconv: error: {path}:12:3: patient.sex: Input should be 'female', 'male', 'other' or 'unknown'"
    )


def test_wrong_types_are_reported(write_case: Callable[..., Path]) -> None:
    path = write_case(MINIMAL_CASE + "conditions: fever\n")
    code, _, err = run("convert", str(path))
    assert code == 1
    assert f"{path}:14:1: conditions: Input should be a valid list" in err


def test_unknown_terms_name_file_line_and_closest_keys(write_case: Callable[..., Path], tmp_path: Path) -> None:
    path = write_case(MINIMAL_CASE + "conditions:\n  - id: x\n    term: dermatomyosite sévèr\n")
    code, _, err = run("convert", str(path), "-o", str(tmp_path / "out.json"))
    assert code == 1
    assert err.startswith(
        f"fhirconv: error: {path}:16:5: conditions[0].term: unknown term 'dermatomyosite sévèr' (hint: closest known terms: dermatomyositis"
    )
    assert not (tmp_path / "out.json").exists()
    code, _, err = run("convert", str(path), "--allow-unmapped", "-o", str(tmp_path / "out.json"))
    assert code == 0
    assert f"{path}: conditions[0].term: 'dermatomyosite sévèr' kept as text only (closest: dermatomyositis" in err


def test_impossible_dates_and_bad_units(write_case: Callable[..., Path]) -> None:
    path = write_case(MINIMAL_CASE.replace("index_date: 2020-03-10", "index_date: 2020-02-30"))
    code, _, err = run("convert", str(path))
    assert code == 1
    assert err == (
        f"fhirconv: error: {path}:9:3: case.index_date: '2020-02-30' is not a date that exists "
        "(day is out of range for month) (hint: check day and month)\n"
    )
    path = write_case(MINIMAL_CASE + "observations:\n  - {id: o, term: CK, at: index, value: 3, unit: UL/L}\n")
    code, _, err = run("convert", str(path))
    assert code == 1
    assert f"{path}:15:44: observations[0].unit: the unit 'UL/L' is neither in the units table nor valid UCUM" in err


def test_alias_bomb(write_case: Callable[..., Path]) -> None:
    path = write_case(
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    )
    code, _, err = run("convert", str(path))
    assert code == 1
    assert (
        err
        == f"fhirconv: error: {path}:1:4: YAML syntax error: YAML anchors are not allowed in case files (hint: check indentation and quoting on this line or the one before)\n"
    )


def test_a_failed_conversion_leaves_an_existing_output_untouched(
    write_case: Callable[..., Path], tmp_path: Path
) -> None:
    target = tmp_path / "bundle.json"
    target.write_text("previous content", "utf-8")
    path = write_case(MINIMAL_CASE + "conditions:\n  - {id: x, term: nonsense-term}\n")
    assert run("convert", str(path), "-o", str(target))[0] == 1
    assert target.read_text("utf-8") == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json", "case.yaml"]


def test_output_to_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    code, _, err = run("convert", str(SEED), "-o", str(tmp_path / "no" / "such" / "bundle.json"))
    assert code == 1
    assert err == f"fhirconv: error: {tmp_path}/no/such/bundle.json: cannot write output: No such file or directory\n"


def test_missing_case_file(tmp_path: Path) -> None:
    code, _, err = run("convert", str(tmp_path / "nope.yaml"))
    assert (code, err) == (1, f"fhirconv: error: {tmp_path}/nope.yaml: no such file (hint: check the path)\n")


def test_usage_errors_exit_2() -> None:
    assert run("convert")[0] == 2
    assert run("convert", str(SEED), "--format", "pdf")[0] == 2
    assert run("frobnicate")[0] == 2


def test_mappings_commands() -> None:
    code, out, _ = run("mappings", "show", "créatine kinase")
    assert code == 0
    assert out.startswith("creatine-kinase (observation, laboratory)\n")
    assert "http://loinc.org 2157-6 'Creatine kinase [Enzymatic activity/volume] in Serum or Plasma'" in out
    assert "checked against: " in out
    code, out, _ = run("mappings", "list", "--kind", "medication")
    assert code == 0 and "ruxolitinib" in out and "creatine-kinase" not in out
    code, out, _ = run("mappings", "check")
    assert code == 0 and out.endswith(": 0 problem(s)\n")
    code, _, err = run("mappings", "show", "ruxolitinyb")
    assert code == 1 and "closest known terms: ruxolitinib" in err


def test_schema_is_json_schema_of_the_format() -> None:
    code, out, _ = run("schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["title"] == "CaseFile"
    assert {"case", "patient", "conditions", "observations", "medications", "procedures", "stays"} <= set(
        schema["properties"]
    )


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = [
        ["convert"],
        ["validate"],
        ["mappings"],
        ["mappings", "list"],
        ["mappings", "show"],
        ["mappings", "check"],
        ["schema"],
    ]
    for words in commands:
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args([*words, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert "example" in text, words


def test_the_console_script_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: fhirconv-case/1\n", "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "fhirconv", "convert", str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_validate_reads_ndjson_and_single_resources(tmp_path: Path) -> None:
    target = tmp_path / "out.ndjson"
    assert run("convert", str(SEED), "--format", "ndjson", "-o", str(target))[0] == 0
    code, out, _ = run("validate", str(target))
    assert (code, out.splitlines()[-1]) == (0, f"{target}: 0 errors, 0 warnings, 0 notes")
    lines = target.read_text("utf-8").splitlines()
    broken = json.loads(lines[2])
    broken["status"] = "done"
    lines[2] = json.dumps(broken)
    target.write_text("\n".join(lines) + "\n", "utf-8")
    code, out, _ = run("validate", str(target))
    assert code == 1
    assert any(line.startswith(f"error       {broken['resourceType']}[line 3].status") for line in out.splitlines())
    single = tmp_path / "patient.json"
    single.write_text(lines[0], "utf-8")
    assert run("validate", str(single))[0] == 0
