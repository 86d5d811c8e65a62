"""The agreement corpus: defect bundles (one known defect each), valid controls, and valid resources from outside.

Layout (all written by ``python -m tests.agreement.make_corpus``):

* ``tests/agreement/corpus/<class>--<nn>.json`` and ``corpus/manifest.json``: one entry per file with its defect
  class, a description and the expected location (FHIRPath-like, as fhirconv writes locations, e.g.
  ``Bundle.entry[1].resource.status``); class ``valid`` are the controls (no error expected).
* ``tests/agreement/outside/*.json`` and ``outside/manifest.json``: example and conformance resources of the
  official package hl7.fhir.r4.core 4.0.1; ``valid: true`` only for files HAPI validated with zero errors
  (the others are listed with HAPI's errors and kept under ``outside/hapi-invalid/``, outside the valid set).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"
OUTSIDE = HERE / "outside"
CORPUS_MANIFEST = CORPUS / "manifest.json"
OUTSIDE_MANIFEST = OUTSIDE / "manifest.json"
VERDICTS = HERE / "hapi-verdicts.json"

VALID = "valid"
DEFECT_CLASSES: tuple[str, ...] = (
    "cardinality",
    "unknown-element",
    "wrong-type",
    "impossible-date",
    "bad-code-required-binding",
    "broken-invariant",
    "dangling-reference",
    "bad-ucum",
    "wrong-reference-target-type",
    "duplicate-fullUrl",
    "choice-type",
)
CLASSES: tuple[str, ...] = (*DEFECT_CLASSES, VALID)


@dataclass(frozen=True)
class Case:
    file: str  # name inside the folder
    defect_class: str  # one of CLASSES ("valid" for controls)
    description: str
    expected_location: str | None  # None for controls
    built_as: str | None = None  # controls built as a defect HAPI does not call an error
    folder: Path = CORPUS

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def is_defect(self) -> bool:
        return self.defect_class != VALID


@dataclass(frozen=True)
class OutsideFile:
    file: str  # path relative to OUTSIDE
    source: str  # member of the package tarball
    resource_type: str
    kind: str  # selection bucket (e.g. "StructureDefinition/resource", "example")
    valid: bool  # HAPI reported zero errors
    hapi_errors: tuple[str, ...]

    @property
    def path(self) -> Path:
        return OUTSIDE / self.file


def load_cases() -> list[Case]:
    data = json.loads(CORPUS_MANIFEST.read_text("utf-8"))
    return [
        Case(e["file"], e["class"], e["description"], e.get("expected_location"), e.get("built_as"))
        for e in data["files"]
    ]


def load_outside() -> list[OutsideFile]:
    if not OUTSIDE_MANIFEST.is_file():
        return []
    data = json.loads(OUTSIDE_MANIFEST.read_text("utf-8"))
    return [
        OutsideFile(
            e["file"], e["source"], e["resourceType"], e["kind"], bool(e["valid"]), tuple(e.get("hapi_errors", ()))
        )
        for e in data["files"]
    ]


# -- locations ---------------------------------------------------------------------------------------------------

_HAPI_COMMENT = re.compile(r"/\*.*?\*/")
_OF_TYPE = re.compile(r"\.ofType\(\w+\)")
# R4 data type names, as they end the name of a choice element (valueQuantity, effectiveDateTime, ...)
_TYPES = (
    "Base64Binary|Boolean|Canonical|Code|Date|DateTime|Decimal|Id|Instant|Integer|Markdown|Oid|PositiveInt|String|"
    "Time|UnsignedInt|Uri|Url|Uuid|Address|Age|Annotation|Attachment|CodeableConcept|Coding|ContactPoint|Count|"
    "Distance|Duration|HumanName|Identifier|Money|Period|Quantity|Range|Ratio|Reference|SampledData|Signature|Timing|"
    "ContactDetail|Contributor|DataRequirement|Expression|ParameterDefinition|RelatedArtifact|TriggerDefinition|"
    "UsageContext|Dosage|Meta"
)
_CHOICE = re.compile(rf"(?<=[.])([a-z][a-zA-Z]*?)(?:{_TYPES})(?=$|[.\[])")


def normalize_location(location: str | None) -> str:
    """A location in one spelling, for comparing fhirconv's with HAPI's and with the manifest's.

    HAPI's ``/*Observation/o1*/`` comments are dropped; a choice element loses its type in every spelling
    (``value[x]``, ``value.ofType(Quantity)`` and ``valueQuantity`` all become ``value``), the same way on both
    sides, so ``reasonReference`` and ``reasonCode`` both read ``reason``: close enough to say where a defect is.
    """
    if not location:
        return ""
    text = _HAPI_COMMENT.sub("", location).replace(" ", "")
    text = _OF_TYPE.sub("", text).replace("[x]", "")
    text = _CHOICE.sub(r"\1", text)
    return text.rstrip(".")


def _parent(location: str) -> str:
    # "A.b[2].c" -> "A.b[2]"; "A.b[2]" -> "A.b"
    if location.endswith("]"):
        return location[: location.rfind("[")]
    return location[: location.rfind(".")] if "." in location else ""


def location_matches(issue_location: str | None, expected: str | None) -> bool:
    """An issue is at the expected place: the same element, one inside it, or its parent element (where a
    validator reports a missing or unknown child)."""
    if expected is None:
        return False
    got, want = normalize_location(issue_location), normalize_location(expected)
    if not got:
        return False
    if got == want or got.startswith((want + ".", want + "[")):
        return True
    parent = _parent(want)
    if not parent:
        return False
    # an array item's owner (Bundle for Bundle.entry[3]) also speaks for it
    return got == parent or (want.endswith("]") and _parent(parent) == got)
