"""Conversion throughput: convert + validate + serialize, side by side with the floor of fhir.resources alone.

    python -m benchmarks.bench_convert                  # all sizes
    python -m benchmarks.bench_convert --quick          # small sizes only

Scaled cases come from the seed sample: its observations repeated (10 .. 10,000 in one case), or the whole seed
repeated as distinct cases (1 .. 1,000). The floor is ``model_validate`` + ``model_dump_json`` of the same resources
with fhir.resources and nothing else. Both run in the same process, one after the other, for each size.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fhirconv.casefile.models import CaseFile
from fhirconv.convert import convert_case
from fhirconv.serialize import render, to_data
from fhirconv.terminology import Terminology
from fhirconv.validate import validate_data

ROOT = Path(__file__).resolve().parents[1]
# The fhir.resources modules a conversion needs: importing them is the floor of a cold start.
R4B_MODULES = (
    "bundle",
    "patient",
    "observation",
    "condition",
    "medicationstatement",
    "procedure",
    "encounter",
    "list",
    "provenance",
    "specimen",
)
SEED = ROOT / "samples" / "anti-mda5-dermatomyositis.yaml"


def seed_data() -> dict[str, Any]:
    from fhirconv.casefile.loader import load_case_document

    with SEED.open("rb") as stream:
        return load_case_document(stream, str(SEED)).data  # type: ignore[no-any-return]


def with_observations(data: dict[str, Any], count: int) -> CaseFile:
    """The seed with its top-level observations repeated until there are ``count`` observations in all."""
    scaled = copy.deepcopy(data)
    template = [o for o in data["observations"] if not o.get("members")]
    observations = []
    for index in range(count):
        item = copy.deepcopy(template[index % len(template)])
        item["id"] = f"{item['id']}-{index}"
        observations.append(item)
    scaled["observations"] = observations
    for condition in scaled["conditions"]:
        condition.pop("evidence", None)
    return CaseFile.model_validate(scaled)


def as_case(data: dict[str, Any], number: int) -> CaseFile:
    renamed = copy.deepcopy(data)
    renamed["case"]["id"] = f"{data['case']['id']}-{number}"
    return CaseFile.model_validate(renamed)


def pipeline(cases: list[CaseFile], terminology: Terminology) -> tuple[float, int, list[dict[str, Any]]]:
    start = time.perf_counter()
    resources = 0
    datas = []
    for case in cases:
        bundle = convert_case(case, terminology).bundle
        data = to_data(bundle)
        validate_data([data], terminology)
        render(bundle, "json")
        resources += len(data["entry"])
        datas.append(data)
    return time.perf_counter() - start, resources, datas


def floor(datas: list[dict[str, Any]]) -> float:
    from fhir.resources.R4B import get_fhir_model_class

    payload = [(get_fhir_model_class(e["resource"]["resourceType"]), e["resource"]) for d in datas for e in d["entry"]]
    start = time.perf_counter()
    for model, resource in payload:
        model.model_validate(resource).model_dump_json()
    return time.perf_counter() - start


def row(label: str, cases: int, resources: int, ours: float, base: float) -> str:
    return (
        f"| {label:<26} | {cases:>6} | {resources:>8} | {resources / ours:>10.0f} | {cases / ours:>8.2f} | "
        f"{resources / base:>10.0f} | {ours / base:>6.2f} |"
    )


def cold_start(runs: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "fhirconv", "convert", str(SEED), "-o", f"{folder}/b.json"],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
    return times


def python_start(runs: int, code: str) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=5, help="cold-start runs (median reported)")
    args = parser.parse_args()
    terminology = Terminology.load()
    data = seed_data()
    observation_sizes = [10, 100, 1000] if args.quick else [10, 100, 1000, 10000]
    case_counts = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
    pipeline([as_case(data, 0)], terminology)  # warm caches (models, tables) once
    print("| workload                   |  cases | resources | ours res/s | cases/s | floor res/s | ratio |")
    print("|----------------------------|-------:|----------:|-----------:|--------:|------------:|------:|")
    for size in observation_sizes:
        case = with_observations(data, size)
        ours, resources, datas = pipeline([case], terminology)
        print(row(f"1 case, {size} observations", 1, resources, ours, floor(datas)), flush=True)
    for count in case_counts:
        cases = [as_case(data, n) for n in range(count)]
        ours, resources, datas = pipeline(cases, terminology)
        print(row(f"{count} seed cases", count, resources, ours, floor(datas)), flush=True)
    times = cold_start(args.runs)
    interpreter = python_start(args.runs, "pass")
    models = python_start(args.runs, "import " + ", ".join(f"fhir.resources.R4B.{m}" for m in R4B_MODULES))
    print()
    print(
        f"cold `fhirconv convert` of the seed: median {statistics.median(times):.3f} s over {len(times)} runs "
        f"(min {min(times):.3f} s); python start alone {interpreter:.3f} s; importing the fhir.resources models "
        f"fhirconv builds with {models:.3f} s"
    )


if __name__ == "__main__":
    main()
