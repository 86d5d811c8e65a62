"""One builder per resource type: a part of the case plus the terminology gives FHIR R4 resources."""

from fhirconv.builders.built import Built
from fhirconv.builders.case_list import build_case_list
from fhirconv.builders.condition import build_conditions
from fhirconv.builders.context import BuildContext, RunReport, UnmappedTerm
from fhirconv.builders.encounter import build_encounters
from fhirconv.builders.medication import build_medications
from fhirconv.builders.observation import build_observations
from fhirconv.builders.patient import build_patient
from fhirconv.builders.procedure import build_procedures
from fhirconv.builders.provenance import build_provenance

__all__ = [
    "BuildContext",
    "Built",
    "RunReport",
    "UnmappedTerm",
    "build_case_list",
    "build_conditions",
    "build_encounters",
    "build_medications",
    "build_observations",
    "build_patient",
    "build_procedures",
    "build_provenance",
]
