"""Bundle assembly: urn:uuid fullUrls, and requests that make a re-push change nothing (PUT on deterministic ids)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryRequest

from fhirconv.builders.built import Built
from fhirconv.ids import ResourceIds

BundleType = Literal["transaction", "collection"]


def assemble(built: Sequence[Built], ids: ResourceIds, bundle_type: BundleType = "transaction") -> Bundle:
    """A bundle of ``built`` in order; its own id is derived from the case id too."""
    seen: set[tuple[str, str]] = set()
    entries: list[BundleEntry] = []
    for item in built:
        identity = (item.resource_type, item.key)
        if identity in seen:
            raise ValueError(f"two resources share the key {item.resource_type}/{item.key}")
        seen.add(identity)
        entries.append(
            BundleEntry(
                fullUrl=ids.full_url(item.resource_type, item.key),
                resource=item.resource,
                request=BundleEntryRequest(method="PUT", url=f"{item.resource_type}/{item.resource.id}")
                if bundle_type == "transaction"
                else None,
            )
        )
    return Bundle(id=ids.uuid("Bundle", bundle_type), type=bundle_type, entry=entries or None)
