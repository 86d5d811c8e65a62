"""Validation speed: fhirconv's validator and HAPI's FhirInstanceValidator over the same files, in one run.

    python -m benchmarks.bench_validate [--rounds 3]

Files: the agreement corpus (tests/agreement/corpus) and the outside set (tests/agreement/outside). Both validators
run warm (HAPI's JVM started and warmed by the harness, fhirconv's index loaded); their start-up is reported apart.
Also: the seed bundle's conversion time against its validation time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from fhirconv.convert import convert_case, load_case
from fhirconv.serialize import to_data
from fhirconv.terminology import Terminology
from fhirconv.validate import read_fhir, validate_data
from tests.support.hapi_validator import HapiValidator

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = (ROOT / "tests" / "agreement" / "corpus", ROOT / "tests" / "agreement" / "outside")


def count_resources(resources: list[dict[str, Any]]) -> int:
    return sum(1 + len(r.get("entry") or []) if r.get("resourceType") == "Bundle" else 1 for r in resources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for folder in FOLDERS for p in folder.glob("*.json") if p.name != "manifest.json")
    raw = [(p, p.read_bytes()) for p in files]
    resources = sum(count_resources(read_fhir(data, str(p))) for p, data in raw)

    start = time.perf_counter()
    terminology = Terminology.load()
    validate_data(read_fhir(raw[0][1], str(raw[0][0])), terminology)
    ours_start = time.perf_counter() - start

    def ours() -> float:
        begin = time.perf_counter()
        for path, data in raw:
            validate_data(read_fhir(data, str(path)), terminology)
        return time.perf_counter() - begin

    begin = time.perf_counter()
    with HapiValidator() as hapi:
        hapi_start = time.perf_counter() - begin

        def theirs() -> float:
            begin = time.perf_counter()
            for path, _ in raw:
                hapi.validate(str(path))
            return time.perf_counter() - begin

        ours_times, hapi_times = [], []
        for number in range(args.rounds):
            pair = [(ours_times, ours), (hapi_times, theirs)]
            for sink, run in pair if number % 2 == 0 else reversed(pair):
                sink.append(run())

    ours_rate = resources / statistics.median(ours_times)
    hapi_rate = resources / statistics.median(hapi_times)
    print(f"{len(files)} files, {resources} resources, median of {args.rounds} rounds")
    print("| validator | resources/s | files/s | start-up |")
    print("|---|---:|---:|---:|")
    print(f"| fhirconv | {ours_rate:.0f} | {len(files) / statistics.median(ours_times):.0f} | {ours_start:.2f} s |")
    print(
        f"| HAPI FhirInstanceValidator | {hapi_rate:.0f} | {len(files) / statistics.median(hapi_times):.0f} | "
        f"{hapi_start:.1f} s |"
    )
    print(f"ratio fhirconv / HAPI: {ours_rate / hapi_rate:.2f}")

    seed = ROOT / "samples" / "anti-mda5-dermatomyositis.yaml"
    case, document = load_case(seed)
    conversions, validations = [], []
    for _ in range(5):
        begin = time.perf_counter()
        bundle = convert_case(case, terminology, document=document).bundle
        data = to_data(bundle)
        conversions.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        validate_data([data], terminology)
        validations.append(time.perf_counter() - begin)
    print(
        f"seed bundle ({len(data['entry'])} resources): conversion {statistics.median(conversions) * 1000:.0f} ms, "
        f"validation {statistics.median(validations) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
