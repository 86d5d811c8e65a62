"""R4's own profiles (``fhirconv/data/r4-profiles.json.gz``): in sync with their generator and the official package,
complete, and each usable by the profile check."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from fhirconv.validate import ProfileSet
from fhirconv.validate.profiles import core_profiles
from fhirconv.validate.r4index import load_index
from tests.support.r4_package import r4_generator, r4_wheel

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "fhirconv" / "data" / "r4-profiles.json.gz"
SD = "http://hl7.org/fhir/StructureDefinition/"

#: R4's resource profiles (hl7.fhir.r4.core 4.0.1, derivation constraint, kind resource), by id.
R4_PROFILES = {
    "actualgroup", "bmi", "bodyheight", "bodytemp", "bodyweight", "bp", "catalog", "cdshooksguidanceresponse",
    "cdshooksrequestgroup", "cdshooksserviceplandefinition", "cholesterol", "clinicaldocument",
    "computableplandefinition", "cqf-questionnaire", "cqllibrary", "devicemetricobservation",
    "diagnosticreport-genetics", "ehrsrle-auditevent", "ehrsrle-provenance", "familymemberhistory-genetic",
    "groupdefinition", "hdlcholesterol", "headcircum", "heartrate", "hlaresult", "ldlcholesterol", "lipidprofile",
    "observation-genetics", "oxygensat", "picoelement", "provenance-relevant-history", "resprate",
    "servicerequest-genetics", "shareableactivitydefinition", "shareablecodesystem", "shareablelibrary",
    "shareablemeasure", "shareableplandefinition", "shareablevalueset", "synthesis", "triglyceride", "vitalsigns",
    "vitalspanel",
}  # fmt: skip


def test_generated_profiles_are_in_sync_with_the_generator() -> None:
    wheel = r4_wheel()
    generated = r4_generator().generate_profiles(wheel)
    assert gzip.decompress(generated) == gzip.decompress(PROFILES.read_bytes()), (
        "fhirconv/data/r4-profiles.json.gz is out of date: run python scripts/generate_r4_index.py"
    )
    assert generated == PROFILES.read_bytes(), "same content but different gzip bytes: regenerate the file"


def test_profiles_are_small_and_only_resource_profiles() -> None:
    assert PROFILES.stat().st_size < 50_000
    data = json.loads(gzip.decompress(PROFILES.read_bytes()))
    assert data["fhirVersion"] == "4.0.1"
    urls = [r["url"] for r in data["resources"]]
    assert urls == sorted(urls)
    assert {url.removeprefix(SD) for url in urls} == R4_PROFILES
    for resource in data["resources"]:
        assert resource["resourceType"] == "StructureDefinition" and resource["derivation"] == "constraint"
        assert resource["kind"] == "resource" and resource["type"] != "Extension"


def test_every_r4_profile_builds_and_its_required_value_sets_are_expanded() -> None:
    profiles = ProfileSet()
    index = load_index()
    for resource in core_profiles():
        profile = profiles.profile(resource["url"])
        assert profile is not None and profile.type == resource["type"], resource["url"]
        assert profile.notes == [], (resource["url"], profile.notes)
        for element in resource["differential"]["element"]:
            binding = element.get("binding") or {}
            if binding.get("strength") == "required":
                value_set = index.value_set(binding["valueSet"])
                assert value_set is not None and value_set.unexpandable is None, binding["valueSet"]


def test_vital_signs_profiles_chain_to_vitalsigns() -> None:
    profiles = ProfileSet()
    for name in ("bodyweight", "bp", "heartrate", "vitalspanel"):
        assert profiles.structure_definitions[SD + name]["baseDefinition"] == SD + "vitalsigns"
    weight = profiles.profile(SD + "bodyweight|4.0.1")
    assert weight is not None and weight.root.children is not None
    value = weight.root.children["value[x]"]
    assert [t.code for t in value.types] == ["Quantity"]  # naming valueQuantity slices value[x] by type, closed
    category = weight.root.children["category"]
    assert category.min == 1 and set(category.slices) == {"VSCat"}
