"""Concept tables (``mappings/``) and lookups over them."""

from fhirconv.terminology.lookup import Terminology, Unit
from fhirconv.terminology.tables import Coding, Concept

__all__ = ["Coding", "Concept", "Terminology", "Unit"]
