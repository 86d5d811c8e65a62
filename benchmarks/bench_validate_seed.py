"""Validation against conversion on the seed bundle, warm, side by side in one process (and the cold overhead).

    python -m benchmarks.bench_validate_seed [--runs 20]

Conversion is ``convert_case`` of samples/anti-mda5-dermatomyositis.yaml; validation is ``validate_data`` of the
converted bundle (as JSON data, the same 67 resources as samples/anti-mda5-dermatomyositis.json). The project's
requirement is that validation costs well under the conversion: the target ratio is at most 0.5.

Cold: the first ``validate_data`` of a fresh process, minus a warm one, is what loading the definitions costs; it
is measured in a subprocess so that nothing is loaded yet.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "anti-mda5-dermatomyositis.yaml"

# Run in a fresh interpreter: conversion first (as the CLI does), then the first and a second validation.
_COLD = """
import time
from fhirconv.convert import convert_case, load_case
from fhirconv.serialize import to_data
from fhirconv.terminology import Terminology
from fhirconv.validate import validate_data
terminology = Terminology.load()
case, document = load_case(__import__("pathlib").Path(%r))
data = to_data(convert_case(case, terminology, document=document).bundle)
begin = time.perf_counter(); validate_data([data], terminology); first = time.perf_counter() - begin
begin = time.perf_counter(); validate_data([data], terminology); second = time.perf_counter() - begin
print(first, second)
"""


def warm(runs: int) -> tuple[float, float]:
    """Median conversion and validation times (seconds), alternating so that both see the same machine state."""
    from fhirconv.convert import convert_case, load_case
    from fhirconv.serialize import to_data
    from fhirconv.terminology import Terminology
    from fhirconv.validate import validate_data

    terminology = Terminology.load()
    case, document = load_case(SEED)
    data = to_data(convert_case(case, terminology, document=document).bundle)
    validate_data([data], terminology)  # load the definitions
    conversions, validations = [], []
    for _ in range(runs):
        begin = time.perf_counter()
        convert_case(case, terminology, document=document)
        conversions.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        issues = validate_data([data], terminology)
        validations.append(time.perf_counter() - begin)
    assert not any(issue.is_error for issue in issues), "the seed bundle must be valid"
    return statistics.median(conversions), statistics.median(validations)


def cold(runs: int) -> float:
    """Median over fresh processes of (first validation - second validation), seconds."""
    overheads = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", _COLD % str(SEED)], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
        first, second = (float(x) for x in output.split())
        overheads.append(first - second)
    return statistics.median(overheads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="warm runs of each (median)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes for the cold overhead (median)")
    args = parser.parse_args()
    conversion, validation = warm(args.runs)
    print(f"seed bundle, median of {args.runs} warm runs each")
    print(f"conversion  {conversion * 1000:6.1f} ms")
    print(f"validation  {validation * 1000:6.1f} ms")
    print(f"ratio validation / conversion: {validation / conversion:.2f} (target <= 0.50)")
    if args.cold_runs:
        print(f"cold first-call overhead: {cold(args.cold_runs) * 1000:.0f} ms (median of {args.cold_runs} processes)")


if __name__ == "__main__":
    main()
