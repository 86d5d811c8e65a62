"""fhirconv push against a real HAPI FHIR JPA server: every resource stored, re-pushes create nothing, a rejected
transaction stores nothing, split transactions keep every reference, and a dry run changes nothing."""

from __future__ import annotations

import collections
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from fhirconv.cli import main
from fhirconv.server import FhirClient
from tests.conftest import SAMPLES, SEED, java_tools_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_tools_available(), reason="Java and Maven are needed to run the HAPI FHIR server"),
]

SEED_BUNDLE = SAMPLES / "anti-mda5-dermatomyositis.json"
TYPES = ("Patient", "Observation", "Condition", "MedicationStatement", "Procedure", "Encounter", "List", "Provenance", "Specimen")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def type_counts(bundle: dict[str, Any]) -> dict[str, int]:
    return dict(collections.Counter(e["resource"]["resourceType"] for e in bundle["entry"]))


def server_counts(server: Any) -> dict[str, int]:
    counts = {name: server.count(name) for name in TYPES}
    return {name: count for name, count in counts.items() if count}


@pytest.fixture
def server(hapi_server: Any) -> Any:
    hapi_server.expunge_all()
    return hapi_server


def test_push_stores_every_resource_and_reads_back_the_same(server: Any) -> None:
    bundle = json.loads(SEED_BUNDLE.read_text("utf-8"))
    code, out, err = run("push", str(SEED_BUNDLE), "--server", server.base, "--verify")
    assert code == 0, err + out
    assert server_counts(server) == type_counts(bundle)
    assert out.splitlines()[-1] == f"{SEED_BUNDLE}: verified {len(bundle['entry'])} resources read back from the server"
    with FhirClient(server.base) as client:
        for entry in bundle["entry"]:
            resource = entry["resource"]
            stored = client.read(resource["resourceType"], resource["id"])
            assert stored.get("identifier") == resource.get("identifier")
            assert stored["meta"]["versionId"] == "1"


def test_a_second_push_and_a_reconversion_create_nothing(server: Any, tmp_path: Path) -> None:
    assert run("push", str(SEED_BUNDLE), "--server", server.base)[0] == 0
    first = server_counts(server)
    code, out, _ = run("push", str(SEED_BUNDLE), "--server", server.base)
    assert code == 0
    assert server_counts(server) == first
    assert "201" not in out.splitlines()[-1]  # every entry answered 200: updated in place, nothing created
    code, _, err = run("convert", str(SEED), "-o", str(tmp_path / "again.json"), "--push", server.base)
    assert code == 0, err
    assert server_counts(server) == first
    with FhirClient(server.base) as client:
        patient = client.read("Patient", json.loads(SEED_BUNDLE.read_text("utf-8"))["entry"][0]["resource"]["id"])
    assert patient["meta"]["versionId"] == "1"  # identical content: no new version either


def test_a_rejected_transaction_stores_nothing_and_names_the_failing_entry(server: Any, tmp_path: Path) -> None:
    bundle = json.loads(SEED_BUNDLE.read_text("utf-8"))
    broken = copy.deepcopy(bundle)
    target = broken["entry"][5]["resource"]
    target["subject"] = {"reference": "Patient/does-not-exist"}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), "utf-8")
    code, _, err = run("push", str(path), "--server", server.base)
    assert code == 3
    assert err.startswith(f"fhirconv: error: POST {server.base} was rejected: HTTP 4")
    assert "Patient/does-not-exist" in err
    assert f"failing entry: #5 {target['resourceType']}/{target['id']}" in err
    assert all(line.startswith(("fhirconv: error: ", "  ")) for line in err.splitlines())
    assert server_counts(server) == {}


def test_split_transactions_keep_every_reference(server: Any, tmp_path: Path) -> None:
    bundle = json.loads(SEED_BUNDLE.read_text("utf-8"))
    code, out, err = run("push", str(SEED_BUNDLE), "--server", server.base, "--max-entries", "7", "--verify")
    assert code == 0, err + out
    assert "transaction 10 of 10: " in out
    assert server_counts(server) == type_counts(bundle)
    assert out.splitlines()[-1].endswith(f"verified {len(bundle['entry'])} resources read back from the server")


def test_dry_run_validates_on_the_server_and_stores_nothing(server: Any, tmp_path: Path) -> None:
    code, out, err = run("push", str(SEED_BUNDLE), "--server", server.base, "--dry-run")
    assert code == 0, err + out
    assert "nothing stored" in out.splitlines()[-1]
    assert server_counts(server) == {}
    bundle = json.loads(SEED_BUNDLE.read_text("utf-8"))
    bundle["entry"][1]["resource"]["status"] = "done"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle), "utf-8")
    code, out, err = run("push", str(path), "--server", server.base, "--dry-run")
    assert code == 3
    assert any("done" in line and line.split("  ")[1].startswith("error") for line in out.splitlines() if "  " in line)
    assert server_counts(server) == {}
