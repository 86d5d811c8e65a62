"""fhirconv: clinical case files to validated FHIR R4 bundles."""

__version__ = "0.1.0"
