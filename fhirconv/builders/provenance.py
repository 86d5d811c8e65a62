"""Provenance: every resource of the case points back at the publication it was converted from."""

from __future__ import annotations

from collections.abc import Sequence

from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.provenance import Provenance, ProvenanceAgent, ProvenanceEntity
from fhir.resources.R4B.reference import Reference

from fhirconv.builders.built import Built
from fhirconv.builders.context import BuildContext


def build_provenance(ctx: BuildContext, targets: Sequence[Built]) -> Built:
    source = ctx.case.case.source
    what = Reference(
        identifier=Identifier(system="https://doi.org", value=source.doi) if source.doi else None,
        display=source.citation + (f" {source.url}" if source.url else ""),
    )
    provenance = Provenance(
        id=ctx.ids.uuid("Provenance", "provenance"),
        target=[ctx.reference(b.resource_type, b.key) for b in targets],
        recorded=f"{ctx.recorded()}T00:00:00Z",
        agent=[
            ProvenanceAgent(
                type=ctx.fhir_concept("provenance-participant-type", "assembler"),
                who=Reference(display="fhirconv"),
            )
        ],
        entity=[ProvenanceEntity(role="source", what=what)],
    )
    return Built("provenance", provenance)
