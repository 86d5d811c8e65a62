"""The unit builders hand to the bundle: a resource and the element key its id comes from."""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.resource import Resource


@dataclass(frozen=True)
class Built:
    key: str
    resource: Resource

    @property
    def resource_type(self) -> str:
        return str(self.resource.get_resource_type())
