"""Faults a real server will not produce on demand, played by `responses`: timeouts, 429, 503, dropped connections,
HTML error pages, multi-issue OperationOutcomes. The client code under test is the real one."""

from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from fhirconv.cli import main
from fhirconv.errors import ServerError, ServerRejected, ServerUnreachable
from fhirconv.server import Credentials, FhirClient, RetryPolicy, push_bundle
from fhirconv.server.retry import parse_retry_after
from tests.conftest import SAMPLES

BASE = "http://127.0.0.1:8999/fhir"
SEED_BUNDLE = SAMPLES / "anti-mda5-dermatomyositis.json"


def bundle() -> dict[str, Any]:
    return json.loads(SEED_BUNDLE.read_text("utf-8"))  # type: ignore[no-any-return]


def answer(sent: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created", "location": f"{e['request']['url']}/_history/1"}}
            for e in sent["entry"]
        ],
    }


def outcome(*issues: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": s, "code": "processing", "diagnostics": d, "expression": [e]} for s, e, d in issues],
    }


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(fake: FakeTime, attempts: int = 4, credentials: Credentials | None = None) -> FhirClient:
    policy = RetryPolicy(
        attempts=attempts, base=0.5, cap=8, deadline=60, sleep=fake.sleep, clock=fake.clock, rng=random.Random(1)
    )
    return FhirClient(BASE, retry=policy, credentials=credentials)


@responses.activate
def test_a_transaction_is_posted_once_with_fhir_json_and_the_token() -> None:
    sent = bundle()
    responses.post(BASE, json=answer(sent), status=200, content_type="application/fhir+json")
    fake = FakeTime()
    report = push_bundle(client(fake, credentials=Credentials(bearer_token="s3cr3t-token")), sent)
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert request.headers["Accept"] == "application/fhir+json"
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert json.loads(request.body) == json.loads(SEED_BUNDLE.read_text("utf-8"))
    assert len(report.entries) == len(sent["entry"]) and report.summary() == {"201": len(sent["entry"])}
    assert fake.sleeps == []


@responses.activate
def test_429_honours_retry_after_then_succeeds() -> None:
    sent = bundle()
    responses.post(BASE, status=429, headers={"Retry-After": "7"}, body="slow down")
    responses.post(BASE, json=answer(sent), status=200, content_type="application/fhir+json")
    fake = FakeTime()
    push_bundle(client(fake), sent)
    assert len(responses.calls) == 2
    assert fake.sleeps == [7.0]


@responses.activate
def test_503_then_success_backs_off_with_jitter() -> None:
    sent = bundle()
    for _ in range(2):
        responses.post(BASE, status=503, body="<html><body>Service Unavailable</body></html>", content_type="text/html")
    responses.post(BASE, json=answer(sent), status=200, content_type="application/fhir+json")
    fake = FakeTime()
    push_bundle(client(fake), sent)
    assert len(responses.calls) == 3
    assert len(fake.sleeps) == 2
    assert 0 <= fake.sleeps[0] <= 0.5 and 0 <= fake.sleeps[1] <= 1.0


@responses.activate
def test_dropped_connections_and_timeouts_are_retried_then_reported() -> None:
    responses.post(
        BASE,
        body=requests.exceptions.ConnectionError(
            "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"
        ),
    )
    responses.post(BASE, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.post(BASE, body=requests.exceptions.ConnectionError("Connection reset by peer"))
    responses.post(BASE, body=requests.exceptions.ReadTimeout("read timed out"))
    fake = FakeTime()
    with pytest.raises(ServerUnreachable) as caught:
        push_bundle(client(fake, attempts=4), bundle())
    assert len(responses.calls) == 4
    assert len(fake.sleeps) == 3
    assert caught.value.one_line() == (
        f"POST {BASE} failed after 4 attempts: no answer within the read timeout "
        "(hint: check that the server runs and the URL is right)"
    )
    assert caught.value.exit_code == 3


@responses.activate
def test_retries_stop_at_the_deadline() -> None:
    for _ in range(10):
        responses.post(BASE, status=503, headers={"Retry-After": "40"})
    fake = FakeTime()
    with pytest.raises(ServerRejected):
        push_bundle(client(fake, attempts=10), bundle())
    # 60 s deadline: waits of min(40, cap 8) s each until 60 s have passed
    assert sum(fake.sleeps) >= 56 and len(responses.calls) == len(fake.sleeps) + 1 <= 9


@responses.activate
def test_4xx_is_not_retried_and_each_issue_is_one_line() -> None:
    responses.post(
        BASE,
        status=400,
        json=outcome(
            ("error", "Bundle.entry[3].resource.status", "Unknown code 'done'"),
            ("error", "Bundle.entry[5]", "Resource Condition/x not found,\n specified in path: Condition.subject"),
            ("warning", "Bundle", "Something to know"),
        ),
        content_type="application/fhir+json",
    )
    fake = FakeTime()
    with pytest.raises(ServerRejected) as caught:
        push_bundle(client(fake), bundle())
    assert len(responses.calls) == 1 and fake.sleeps == []
    assert caught.value.status == 400
    assert caught.value.issues == [
        "error       Bundle.entry[3].resource.status  Unknown code 'done'",
        "error       Bundle.entry[5]  Resource Condition/x not found, specified in path: Condition.subject",
        "warning     Bundle  Something to know",
    ]


@responses.activate
def test_html_error_page_is_named_as_not_fhir() -> None:
    responses.post(BASE, status=500, body="<html><title>Oops</title></html>", content_type="text/html; charset=utf-8")
    with pytest.raises(ServerRejected) as caught:
        push_bundle(client(FakeTime()), bundle())
    assert (
        caught.value.message
        == f"POST {BASE} was rejected: HTTP 500 Internal Server Error (not a FHIR answer: text/html)"
    )


@responses.activate
def test_a_200_that_is_not_fhir_is_an_error() -> None:
    responses.post(BASE, status=200, body="<html>login page</html>", content_type="text/html")
    with pytest.raises(ServerRejected, match="without a FHIR resource"):
        push_bundle(client(FakeTime()), bundle())


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon", now=0) is None


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@responses.activate
def test_cli_prints_per_entry_status_and_location(tmp_path: Path) -> None:
    sent = bundle()
    responses.post(BASE, json=answer(sent), status=200, content_type="application/fhir+json")
    code, out, err = run_cli("push", str(SEED_BUNDLE), "--server", BASE)
    assert code == 0, err
    lines = out.splitlines()
    first = sent["entry"][0]["request"]["url"]
    assert lines[0] == f"201 Created  {first}  -> {first}/_history/1"
    assert lines[-1] == f"{SEED_BUNDLE}: {len(sent['entry'])} entries in 1 transaction(s): {len(sent['entry'])} x 201"


@responses.activate
def test_cli_server_rejection_exits_3_with_issue_lines() -> None:
    responses.post(
        BASE,
        status=422,
        json=outcome(("error", "Observation.status", "bad status"), ("error", "Patient", "two")),
        content_type="application/fhir+json",
    )
    code, _, err = run_cli("push", str(SEED_BUNDLE), "--server", BASE)
    assert code == 3
    assert err.splitlines() == [
        f"fhirconv: error: POST {BASE} was rejected: HTTP 422 Unprocessable Entity (hint: the server found the content invalid; see the issues above)",
        "  error       Observation.status  bad status",
        "  error       Patient  two",
    ]


@responses.activate
def test_cli_unreachable_server_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        responses.post(BASE, body=requests.exceptions.ConnectionError("Connection refused"))
    monkeypatch.setattr("fhirconv.server.retry.time.sleep", lambda _s: None)
    code, _, err = run_cli("push", str(SEED_BUNDLE), "--server", BASE, "--retries", "1")
    assert code == 3
    assert (
        err.splitlines()[-1]
        == f"fhirconv: error: POST {BASE} failed after 2 attempts: connection refused (hint: check that the server runs and the URL is right)"
    )
    assert err.count("retrying in") == 1


@responses.activate
def test_no_secret_ever_appears_in_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token, password = "tok-9f8e7d6c5b4a", "pw-Correct-Horse"
    monkeypatch.setenv("FHIRCONV_TEST_TOKEN", token)
    (tmp_path / "password").write_text(password + "\n", "utf-8")
    # A careless server that echoes the credentials it was sent.
    responses.post(
        BASE,
        status=401,
        json=outcome(("error", "Bundle", f"bad token: Bearer {token}")),
        content_type="application/fhir+json",
    )
    responses.post(BASE, status=503, headers={"Retry-After": "0"})
    responses.post(
        BASE,
        status=401,
        json=outcome(("error", "Bundle", f"bad password {password}")),
        content_type="application/fhir+json",
    )
    monkeypatch.setattr("fhirconv.server.retry.time.sleep", lambda _s: None)
    runs = [
        run_cli("push", str(SEED_BUNDLE), "--server", BASE, "--token-env", "FHIRCONV_TEST_TOKEN"),
        run_cli(
            "push", str(SEED_BUNDLE), "--server", BASE, "--user", "alice", "--password-file", str(tmp_path / "password")
        ),
    ]
    for code, out, err in runs:
        assert code == 3
        assert "***" in err
        for secret in (token, password):
            assert secret not in out and secret not in err
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {token}"
    assert responses.calls[1].request.headers["Authorization"].startswith("Basic ")


def test_secrets_are_never_taken_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli("push", str(SEED_BUNDLE), "--server", BASE, "--token", "abc")
    assert code == 2 and "unrecognized arguments: --token abc" in capsys.readouterr().err


def test_missing_token_variable_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FHIRCONV_NO_SUCH_VAR", raising=False)
    code, _, err = run_cli("push", str(SEED_BUNDLE), "--server", BASE, "--token-env", "FHIRCONV_NO_SUCH_VAR")
    assert code == 1
    assert (
        err
        == "fhirconv: error: the environment variable FHIRCONV_NO_SUCH_VAR is not set or empty (hint: export FHIRCONV_NO_SUCH_VAR with the token)\n"
    )


def test_a_collection_bundle_is_not_pushed(tmp_path: Path) -> None:
    collection = bundle()
    collection["type"] = "collection"
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(collection), "utf-8")
    code, _, err = run_cli("push", str(path), "--server", BASE)
    assert code == 1 and "is a collection, not a transaction bundle" in err


@responses.activate
def test_many_bundles_in_parallel_report_in_order_and_fail_together(tmp_path: Path) -> None:
    sent = bundle()
    paths = []
    for number in range(4):
        variant = copy.deepcopy(sent)
        variant["entry"][0]["resource"]["gender"] = "bad" if number == 2 else "female"
        path = tmp_path / f"case-{number}.json"
        path.write_text(json.dumps(variant), "utf-8")
        paths.append(str(path))

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        if body["entry"][0]["resource"]["gender"] == "bad":
            return 400, {"Content-Type": "application/fhir+json"}, json.dumps(outcome(("error", "Patient.gender", "bad gender")))
        return 200, {"Content-Type": "application/fhir+json"}, json.dumps(answer(body))

    responses.add_callback(responses.POST, BASE, callback=reply)
    code, out, err = run_cli("push", *paths, "--server", BASE, "--jobs", "3")
    assert code == 3
    summaries = [line for line in out.splitlines() if line.startswith(str(tmp_path))]
    assert [line.split(":")[0] for line in summaries] == [paths[0], paths[1], paths[3]]
    assert "  error       Patient.gender  bad gender" in err.splitlines()
    assert err.splitlines()[-1] == "fhirconv: 1 of 4 bundles failed"
    assert len(responses.calls) == 4


def test_tls_verification_is_on_by_default_and_takes_a_ca_bundle(tmp_path: Path) -> None:
    assert FhirClient(BASE).session.verify is True
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", "utf-8")
    assert FhirClient(BASE, verify=str(ca)).session.verify == str(ca)


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ServerError, match="is not an http"):
        FhirClient("ftp://example.org/fhir")
