"""The HAPI FHIR JPA server harness stores transactions as a real server does.

Needs java and mvn on PATH; the first run builds tests/java/server (HAPI FHIR 8.8.0 from Maven Central, ~300 MB),
then the server takes 30-60 s to start. It is started once per test session (the ``hapi_server`` fixture of
tests/conftest.py) and wiped with $expunge before each test.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.hapi_server import HapiServer, hapi_server_available, missing_tools

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not hapi_server_available(),
        reason=f"HAPI server harness needs java and mvn on PATH (missing: {', '.join(missing_tools())})",
    ),
]

PATIENT_FULL_URL = "urn:uuid:0b5cbe5e-3f0a-4a55-9f7e-1c0c6b0d2a11"
OBSERVATION_FULL_URL = "urn:uuid:7d3c8a52-61e4-4b0e-8a5e-2f9d4c1b3e22"
OBS_SYSTEM = "urn:fhirconv:test:observation"


def small_transaction() -> dict[str, Any]:
    """A Patient with a client id (PUT) and an Observation created only if its identifier is new."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": PATIENT_FULL_URL,
                "resource": {
                    "resourceType": "Patient",
                    "id": "p-abc",
                    "identifier": [{"system": "urn:fhirconv:test:patient", "value": "abc"}],
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "gender": "female",
                    "birthDate": "1980-05-01",
                },
                "request": {"method": "PUT", "url": "Patient/p-abc"},
            },
            {
                "fullUrl": OBSERVATION_FULL_URL,
                "resource": {
                    "resourceType": "Observation",
                    "identifier": [{"system": OBS_SYSTEM, "value": "obs-1"}],
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
                    "subject": {"reference": PATIENT_FULL_URL},
                    "effectiveDateTime": "2024-03-01T10:00:00Z",
                    "valueQuantity": {
                        "value": 72,
                        "unit": "/min",
                        "system": "http://unitsofmeasure.org",
                        "code": "/min",
                    },
                },
                "request": {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": f"identifier={OBS_SYSTEM}|obs-1",
                },
            },
        ],
    }


def response_statuses(response: requests.Response) -> list[str]:
    body = response.json()
    assert body["resourceType"] == "Bundle", body
    assert body["type"] == "transaction-response", body
    return [str(entry["response"]["status"]) for entry in body["entry"]]


@pytest.fixture()
def hapi(hapi_server: HapiServer) -> HapiServer:
    """The session's server (tests/conftest.py starts one for the whole run), emptied."""
    hapi_server.expunge_all()
    return hapi_server


def test_metadata_is_r4_json(hapi: HapiServer) -> None:
    response = requests.get(f"{hapi.base}/metadata", timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"


def test_transaction_is_stored_and_idempotent(hapi: HapiServer) -> None:
    first = hapi.post_bundle(small_transaction())
    assert first.status_code == 200, first.text
    assert [status.split()[0] for status in response_statuses(first)] == ["201", "201"]
    assert hapi.count("Patient") == 1
    assert hapi.count("Observation") == 1

    # The urn:uuid reference was rewritten to the patient's client id.
    found = requests.get(f"{hapi.base}/Observation", params={"identifier": f"{OBS_SYSTEM}|obs-1"}, timeout=60).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["subject"]["reference"] == "Patient/p-abc"

    second = hapi.post_bundle(small_transaction())
    assert second.status_code == 200, second.text
    # PUT of the same content and a conditional create that matches: nothing new.
    assert [status.split()[0] for status in response_statuses(second)] == ["200", "200"]
    assert hapi.count("Patient") == 1
    assert hapi.count("Observation") == 1
    history = requests.get(f"{hapi.base}/Patient/p-abc/_history", params={"_summary": "count"}, timeout=60)
    assert history.json()["total"] == 1


def test_transaction_with_missing_reference_fails_whole(hapi: HapiServer) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:4a1f7a0e-9a8b-4c55-b2a0-5e6f7a8b9c33",
                "resource": {"resourceType": "Patient", "id": "p-lonely", "name": [{"family": "Roe"}]},
                "request": {"method": "PUT", "url": "Patient/p-lonely"},
            },
            {
                "fullUrl": "urn:uuid:6b2e9c1d-0f3a-4d66-a1b2-c3d4e5f6a744",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "Heart rate"},
                    "subject": {"reference": "Patient/p-missing"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = hapi.post_bundle(bundle)
    assert 400 <= response.status_code < 500, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "p-missing" in response.text
    # Atomic: the patient of the failed transaction was not stored either.
    assert hapi.count("Patient") == 0
    assert hapi.count("Observation") == 0
    assert requests.get(f"{hapi.base}/Patient/p-lonely", timeout=60).status_code == 404


def test_purely_numeric_client_id_is_rejected(hapi: HapiServer) -> None:
    response = requests.put(
        f"{hapi.base}/Patient/12345",
        json={"resourceType": "Patient", "id": "12345"},
        headers={"Content-Type": "application/fhir+json"},
        timeout=60,
    )
    assert response.status_code == 400
    assert "HAPI-0960" in response.text


def test_validate_operation_reports_errors(hapi: HapiServer) -> None:
    response = requests.post(
        f"{hapi.base}/Observation/$validate",
        json={"resourceType": "Observation", "valueString": "no status, no code"},
        headers={"Content-Type": "application/fhir+json"},
        timeout=120,
    )
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    errors = [issue["diagnostics"] for issue in outcome["issue"] if issue["severity"] in ("error", "fatal")]
    assert any("Observation.status" in message for message in errors), errors
    assert any("Observation.code" in message for message in errors), errors


def test_fifty_entry_transaction(hapi: HapiServer) -> None:
    entries: list[dict[str, Any]] = []
    for index in range(25):
        patient_url = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
        entries.append(
            {
                "fullUrl": patient_url,
                "resource": {"resourceType": "Patient", "id": f"p-{index}", "name": [{"family": f"F{index}"}]},
                "request": {"method": "PUT", "url": f"Patient/p-{index}"},
            }
        )
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-9000-{index:012d}",
                "resource": {
                    "resourceType": "Observation",
                    "identifier": [{"system": OBS_SYSTEM, "value": f"o-{index}"}],
                    "status": "final",
                    "code": {"text": "Heart rate"},
                    "subject": {"reference": patient_url},
                },
                "request": {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": f"identifier={OBS_SYSTEM}|o-{index}",
                },
            }
        )
    response = hapi.post_bundle({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert response.status_code == 200, response.text
    assert len(response_statuses(response)) == 50
    assert hapi.count("Patient") == 25
    assert hapi.count("Observation") == 25


def test_expunge_all_wipes_resources_and_history(hapi: HapiServer) -> None:
    assert hapi.post_bundle(small_transaction()).status_code == 200
    assert hapi.count("Patient") == 1

    hapi.expunge_all()

    assert hapi.count("Patient") == 0
    assert hapi.count("Observation") == 0
    history = requests.get(f"{hapi.base}/_history", params={"_summary": "count"}, timeout=60)
    assert history.json()["total"] == 0
    # The same client id can be created afresh.
    again = hapi.post_bundle(small_transaction())
    assert again.status_code == 200, again.text
    assert [status.split()[0] for status in response_statuses(again)] == ["201", "201"]
