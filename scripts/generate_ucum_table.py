#!/usr/bin/env python3
"""Generate fhirconv/data/ucum.json, the UCUM unit table, from the official ucum-essence.xml.

ucum-essence.xml is the UCUM definitions file (prefixes, base units, defined units and their properties).
It ships inside the Maven Central artifact org.fhir:ucum (the UCUM library of HAPI FHIR)::

    mvn -q dependency:get -Dartifact=org.fhir:ucum:1.0.10
    python scripts/generate_ucum_table.py                     # newest org.fhir:ucum jar found in ~/.m2
    python scripts/generate_ucum_table.py path/to/ucum-1.0.10.jar
    python scripts/generate_ucum_table.py path/to/ucum-essence.xml -o /tmp/ucum.json

The output is deterministic (sorted keys, one prefix or unit per line), so the same input always gives the
same bytes and a diff shows exactly which units changed. Its "source" block names the artifact, the UCUM
version and the SHA-256 of the essence file it was made from.

Output shape::

    prefixes: code -> value as written in the essence file ("1e3"; binary prefixes: "1024")
    units:    code -> {metric, arbitrary, special, base: bool; class, property, name: str;
                       dim: base dimension -> exponent (L length, T time, M mass, A plane angle,
                       C temperature, Q charge, F luminous intensity, or the code of an arbitrary unit)}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The dimensions are worked out by the package's own parser, so the table and the parser cannot disagree;
# the checkout comes first on the path so the script works without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fhirconv.ucum import UcumTable, UnitInfo, resolve_dimensions

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "fhirconv" / "data" / "ucum.json"
M2_DIR = Path.home() / ".m2" / "repository" / "org" / "fhir" / "ucum"
ESSENCE_NAME = "ucum-essence.xml"


@dataclass(frozen=True)
class Essence:
    """The essence file's bytes and a label saying where they came from."""

    data: bytes
    artifact: str


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def find_in_m2(m2_dir: Path = M2_DIR) -> Path | None:
    """The jar of the newest org.fhir:ucum version in the local Maven repository, if any."""
    jars = [jar for jar in m2_dir.glob("*/ucum-*.jar") if jar.name == f"ucum-{jar.parent.name}.jar"]
    if not jars:
        return None
    return max(jars, key=lambda jar: _version_key(jar.parent.name))


def read_essence(path: Path) -> Essence:
    """Read ucum-essence.xml from a jar (labelled org.fhir:ucum:VERSION) or from a plain file."""
    if path.suffix == ".jar":
        with zipfile.ZipFile(path) as jar:
            data = jar.read(ESSENCE_NAME)
        version = path.stem.removeprefix("ucum-")
        return Essence(data, f"org.fhir:ucum:{version}")
    return Essence(path.read_bytes(), path.name)


def _local(tag: str) -> str:
    # Versions of the file differ in whether child elements carry the essence namespace.
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return " ".join("".join(child.itertext()).split())
    return ""


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _definition(element: ET.Element) -> str:
    """The unit a defined unit is made of; for a special unit, the unit its function applies to ("K")."""
    value = _child(element, "value")
    if value is None:
        raise ValueError(f"unit {element.get('Code')!r} has no <value>")
    function = _child(value, "function")
    unit = function.get("Unit") if function is not None else value.get("Unit")
    if unit is None:
        raise ValueError(f"unit {element.get('Code')!r} has no definition unit")
    return unit


def _unit_info(element: ET.Element) -> UnitInfo:
    base = _local(element.tag) == "base-unit"
    return UnitInfo(
        # Base units take prefixes although the file does not say isMetric on them.
        metric=base or element.get("isMetric") == "yes",
        arbitrary=element.get("isArbitrary") == "yes",
        special=element.get("isSpecial") == "yes",
        base=base,
        unit_class=element.get("class", "base"),
        property=_child_text(element, "property"),
        name=_child_text(element, "name"),
        definition="" if base else _definition(element),
    )


def _code(element: ET.Element) -> str:
    code = element.get("Code")
    if not code:
        raise ValueError(f"<{_local(element.tag)}> without a Code attribute")
    return code


def build_document(essence: Essence) -> dict[str, Any]:
    """The JSON document for one essence file."""
    root = ET.fromstring(essence.data)
    prefixes: dict[str, str] = {}
    units: dict[str, UnitInfo] = {}
    base_dims: dict[str, str] = {}
    for element in root:
        kind = _local(element.tag)
        if kind == "prefix":
            value = _child(element, "value")
            prefixes[_code(element)] = value.get("value", "") if value is not None else ""
        elif kind in ("base-unit", "unit"):
            code = _code(element)
            if code in units:
                raise ValueError(f"unit {code!r} is defined twice")
            units[code] = _unit_info(element)
            if kind == "base-unit":
                base_dims[code] = element.get("dim", "")
    version = root.get("version", "")
    dims = resolve_dimensions(UcumTable(prefixes, units, version), base_dims)
    return {
        "_generated": "by scripts/generate_ucum_table.py from ucum-essence.xml; do not edit by hand",
        "source": {
            "artifact": essence.artifact,
            "file": ESSENCE_NAME,
            "sha256": hashlib.sha256(essence.data).hexdigest(),
            "ucum_version": version,
            "ucum_revision_date": root.get("revision-date", ""),
        },
        "prefixes": prefixes,
        "units": {code: _unit_json(info, dims[code]) for code, info in units.items()},
    }


def _unit_json(info: UnitInfo, dim: dict[str, int]) -> dict[str, Any]:
    return {
        "arbitrary": info.arbitrary,
        "base": info.base,
        "class": info.unit_class,
        "dim": dim,
        "metric": info.metric,
        "name": info.name,
        "property": info.property,
        "special": info.special,
    }


def render(document: dict[str, Any]) -> str:
    """JSON with sorted keys, one prefix or unit per line: stable bytes and readable diffs."""

    def dump(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(", ", ": "))

    lines = ["{"]
    keys = sorted(document)
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        value = document[key]
        if isinstance(value, dict) and key in ("prefixes", "units"):
            entries = [f"  {dump(k)}: {dump(value[k])}" for k in sorted(value)]
            lines.append(f"{dump(key)}: {{")
            lines.append(",\n".join(entries))
            lines.append("}" + comma)
        else:
            lines.append(f"{dump(key)}: {dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generate(source: Path, output: Path) -> None:
    """Read the essence file (or jar) at ``source`` and write the table to ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(build_document(read_essence(source))), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("source", nargs="?", type=Path, help="ucum-essence.xml or an org.fhir:ucum jar")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="default: %(default)s")
    args = parser.parse_args(argv)
    source: Path | None = args.source or find_in_m2()
    if source is None:
        parser.error(
            f"no source given and no org.fhir:ucum jar under {M2_DIR}; run: "
            "mvn -q dependency:get -Dartifact=org.fhir:ucum:1.0.10"
        )
    generate(source, args.output)
    print(f"wrote {args.output} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
