"""Deterministic identity of every resource: the same case and element give the same id on every run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# A fixed namespace so that ids depend only on the case id, the resource type and the element key.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fhirconv:resource-ids")


@dataclass(frozen=True)
class ResourceIds:
    """Ids, fullUrls and business identifiers derived from the case id.

    Keys are the case file's element ids; resources a builder derives from an element get ``ID.suffix`` keys
    (``ct.findings``, ``patient.age``): ids in a case file cannot hold a '.', so the two never collide.
    """

    case_id: str

    @property
    def identifier_system(self) -> str:
        return f"urn:fhirconv:case:{self.case_id}"

    def uuid(self, resource_type: str, key: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.case_id}/{resource_type}/{key}"))

    def full_url(self, resource_type: str, key: str) -> str:
        return f"urn:uuid:{self.uuid(resource_type, key)}"

    def identifier_value(self, resource_type: str, key: str) -> str:
        return f"{resource_type}/{key}"
