"""Read a bundle or resource (JSON, XML or NDJSON) into FHIR JSON data for the checks."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lxml import etree

from fhirconv.errors import BundleReadError, Location


def read_fhir(raw: bytes, source: str) -> list[dict[str, Any]]:
    """The resources in ``raw``: one for JSON or XML (a Bundle is one resource), one per line for NDJSON."""
    text = raw.lstrip()
    if not text:
        raise BundleReadError("the file is empty", location=Location(file=source))
    if text.startswith(b"<"):
        return [_read_xml(raw, source)]
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleReadError("the file is not UTF-8 JSON or XML", location=Location(file=source)) from None
    lines = [line for line in decoded.splitlines() if line.strip()]
    try:
        return [_object(json.loads(decoded, parse_float=Decimal), source, 1)]
    except json.JSONDecodeError as exc:
        if len(lines) > 1 and exc.msg == "Extra data":
            return [
                _ndjson_line(line, source, number)
                for number, line in enumerate(decoded.splitlines(), 1)
                if line.strip()
            ]
        raise BundleReadError(
            f"JSON syntax error: {exc.msg}", location=Location(file=source, line=exc.lineno, column=exc.colno)
        ) from None


def _ndjson_line(line: str, source: str, number: int) -> dict[str, Any]:
    try:
        return _object(json.loads(line, parse_float=Decimal), source, number)
    except json.JSONDecodeError as exc:
        raise BundleReadError(
            f"NDJSON syntax error: {exc.msg}", location=Location(file=source, line=number, column=exc.colno)
        ) from None


def _object(value: Any, source: str, line: int) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise BundleReadError(
            "not a FHIR resource: no resourceType",
            location=Location(file=source, line=line),
            hint="give a FHIR JSON resource or Bundle",
        )
    return value


def _read_xml(raw: bytes, source: str) -> dict[str, Any]:
    from fhir.resources.R4B import get_fhir_model_class

    from fhirconv.serialize import to_data

    try:
        root = etree.fromstring(raw, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise BundleReadError(
            f"XML syntax error: {exc.msg}", location=Location(file=source, line=line, column=column)
        ) from None
    name = etree.QName(root).localname
    try:
        model = get_fhir_model_class(name)
    except KeyError:
        raise BundleReadError(
            f"<{name}> is not a FHIR resource", location=Location(file=source, line=_line(root))
        ) from None
    try:
        resource = model.model_validate_xml(raw)
    except Exception as exc:  # noqa: BLE001 - the XML reader raises several unrelated types
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleReadError(f"not valid FHIR XML: {first}", location=Location(file=source)) from None
    return to_data(resource)


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None
