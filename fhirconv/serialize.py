"""FHIR JSON, XML and NDJSON out; atomic file writes.

We walk the models ourselves instead of using ``model_dump``: it turns decimals into floats (``0.90`` -> ``0.9``,
``3000`` -> ``3000.0`` in XML), and a value must keep the digits the report wrote. The walk follows each model's
element order, which is also the order the XML schema requires.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from lxml import etree

from fhirconv.errors import OutputError

OutputFormat = Literal["json", "xml", "ndjson"]
FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"


@cache
def _element_names(model: type[FHIRAbstractModel]) -> tuple[tuple[str, str], ...]:
    """(json name, attribute name) in definition order."""
    by_alias = {field.alias or name: name for name, field in model.model_fields.items()}
    names = []
    for element in model.elements_sequence():
        attribute = by_alias.get(element) or (element if element in model.model_fields else f"{element}_fhir")
        names.append((element, attribute))
    return tuple(names)


def to_data(model: FHIRAbstractModel) -> dict[str, Any]:
    """A model as FHIR JSON data (dicts, lists, str, bool, int, Decimal), elements in definition order."""
    data: dict[str, Any] = {}
    if isinstance(model, Resource):
        data["resourceType"] = model.get_resource_type()
    for element, attribute in _element_names(type(model)):
        value = getattr(model, attribute, None)
        if value is None or value == []:
            continue
        data[element] = _value(value)
    return data


def _value(value: Any) -> Any:
    if isinstance(value, FHIRAbstractModel):
        return to_data(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    if isinstance(value, bool | int | str | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return _datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _datetime(value: datetime) -> str:
    if value.tzinfo is not None and value.utcoffset() == UTC.utcoffset(None):
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


# -- JSON --------------------------------------------------------------------------------------------------------

_DECIMAL_MARK = "\u0000fhirconv-decimal:"
_DECIMAL_RE = re.compile(r'"\\u0000fhirconv-decimal:([^"]*)"')


def _mark_decimals(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _mark_decimals(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_mark_decimals(v) for v in data]
    if isinstance(data, Decimal):
        return _DECIMAL_MARK + _decimal_text(data)
    return data


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f") if -30 < value.adjusted() < 30 else str(value)
    return text


def dumps_json(data: Any, *, indent: int | None = 2) -> str:
    """JSON with decimals written exactly as held (json.dumps would go through float)."""
    text = json.dumps(
        _mark_decimals(data), indent=indent, ensure_ascii=False, separators=None if indent else (",", ":")
    )
    return _DECIMAL_RE.sub(r"\1", text)


def data_ndjson(bundle: dict[str, Any]) -> bytes:
    """One resource a line; urn:uuid references become Type/id since there is no bundle to resolve them in."""
    resources = [
        (entry.get("fullUrl"), entry["resource"]) for entry in bundle.get("entry") or [] if "resource" in entry
    ]
    rewrite = {url: f"{resource['resourceType']}/{resource['id']}" for url, resource in resources if url}
    lines = [dumps_json(_rewrite_references(resource, rewrite), indent=None) for _, resource in resources]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _rewrite_references(data: Any, rewrite: dict[str, str]) -> Any:
    if isinstance(data, dict):
        return {
            k: (rewrite.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite_references(v, rewrite))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_rewrite_references(v, rewrite) for v in data]
    return data


# -- XML ---------------------------------------------------------------------------------------------------------


def _primitive_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(value)


def _xml_children(parent: etree._Element, data: dict[str, Any], in_resource: bool) -> None:
    for key, value in data.items():
        if key == "resourceType":
            continue
        if key == "id" and not in_resource:
            parent.set("id", str(value))
            continue
        if key == "url" and parent.tag in {f"{{{FHIR_NS}}}extension", f"{{{FHIR_NS}}}modifierExtension"}:
            parent.set("url", str(value))
            continue
        for item in value if isinstance(value, list) else [value]:
            _xml_element(parent, key, item)


def _xml_element(parent: etree._Element, name: str, value: Any) -> None:
    if name == "div" and isinstance(value, str):
        parent.append(etree.fromstring(value))
        return
    element = etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")
    if isinstance(value, dict):
        if "resourceType" in value:
            resource = etree.SubElement(element, f"{{{FHIR_NS}}}{value['resourceType']}")
            _xml_children(resource, value, in_resource=True)
        else:
            _xml_children(element, value, in_resource=False)
    else:
        element.set("value", _primitive_text(value))


def data_xml(data: dict[str, Any]) -> bytes:
    root = etree.Element(f"{{{FHIR_NS}}}{data['resourceType']}", nsmap={None: FHIR_NS})  # type: ignore[dict-item]
    _xml_children(root, data, in_resource=True)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render(bundle: Bundle, output_format: OutputFormat) -> bytes:
    return render_data(to_data(bundle), output_format)


def render_data(data: dict[str, Any], output_format: OutputFormat) -> bytes:
    """Bundle data (from :func:`to_data`) as file content; callers that also validate or push it walk it once."""
    if output_format == "json":
        return (dumps_json(data) + "\n").encode("utf-8")
    if output_format == "xml":
        return data_xml(data)
    return data_ndjson(data)


# -- files -------------------------------------------------------------------------------------------------------


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old file or the whole new one, never a part."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(path, exc.strerror or str(exc)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
