"""Push throughput into a real HAPI FHIR JPA server, fhirconv against the ceiling of a minimal client.

    python -m benchmarks.bench_push [--cases 24] [--concurrency 1 2 4]

Both sides post the same transaction bodies (converted seed cases with distinct case ids, 67 resources each) at 1, 2
and 4 concurrent transactions, into a server wiped before every run; the order of the two alternates between
rounds so that neither always meets a warmer server. The minimal client is requests.Session.post of pre-serialised
bytes and nothing else: what the server allows. Figures are resources stored per second, and their ratio.
"""

from __future__ import annotations

import argparse
import copy
import functools
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from fhirconv.casefile.models import CaseFile
from fhirconv.convert import convert_case
from fhirconv.serialize import dumps_json, to_data
from fhirconv.server import FhirClient, push_bundle
from fhirconv.terminology import Terminology
from tests.support.hapi_server import HapiServer

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "anti-mda5-dermatomyositis.yaml"


def bundles(count: int) -> list[dict[str, Any]]:
    from fhirconv.casefile.loader import load_case_document

    with SEED.open("rb") as stream:
        data = load_case_document(stream, str(SEED)).data
    terminology = Terminology.load()
    result = []
    for number in range(count):
        variant = copy.deepcopy(data)
        variant["case"]["id"] = f"bench-{number}"
        result.append(to_data(convert_case(CaseFile.model_validate(variant), terminology).bundle))
    return result


def with_fhirconv(base: str, items: list[dict[str, Any]], jobs: int) -> None:
    def one(bundle: dict[str, Any]) -> None:
        with FhirClient(base) as client:
            push_bundle(client, bundle)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, items))


def with_minimal_client(base: str, bodies: list[bytes], jobs: int) -> None:
    def one(body: bytes) -> None:
        with requests.Session() as session:
            response = session.post(base, data=body, headers={"Content-Type": "application/fhir+json"}, timeout=300)
            response.raise_for_status()

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, bodies))


def timed(server: HapiServer, action: Callable[[], None]) -> float:
    server.expunge_all()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    items = bundles(args.cases)
    bodies = [dumps_json(b, indent=None).encode("utf-8") for b in items]
    resources = sum(len(b["entry"]) for b in items)
    with HapiServer() as server:
        with_minimal_client(server.base, bodies[:2], 1)  # warm the server's caches once
        print(f"{args.cases} cases, {resources} resources per run, {args.rounds} rounds (median)")
        print("| concurrency | fhirconv res/s | minimal client res/s | ratio |")
        print("|------------:|---------------:|---------------------:|------:|")
        for jobs in args.concurrency:
            ours: list[float] = []
            ceiling: list[float] = []
            for round_number in range(args.rounds):
                runs = [
                    (ours, functools.partial(with_fhirconv, server.base, items, jobs)),
                    (ceiling, functools.partial(with_minimal_client, server.base, bodies, jobs)),
                ]
                for sink, action in runs if round_number % 2 == 0 else reversed(runs):
                    sink.append(timed(server, action))
            ours_rate = resources / statistics.median(ours)
            ceiling_rate = resources / statistics.median(ceiling)
            print(
                f"| {jobs:>11} | {ours_rate:>14.0f} | {ceiling_rate:>20.0f} | {ours_rate / ceiling_rate:>5.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
