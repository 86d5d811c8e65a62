"""Reading the concept tables of ``mappings/`` (and a user's own folders) into typed records.

The tables are YAML read with the case-file loader, so a malformed table gets a message with its file and line.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fhirconv.casefile.loader import LoadedDocument, load_case_document
from fhirconv.errors import FhirconvError, MappingError

KINDS = frozenset({"observation", "condition", "medication", "procedure", "encounter", "qualifier"})
CATEGORIES: dict[str, frozenset[str]] = {
    "observation": frozenset({"laboratory", "vital-signs", "social-history", "exam", "imaging", "procedure", "survey"}),
    "condition": frozenset({"problem-list-item", "encounter-diagnosis"}),
    "qualifier": frozenset({"body-site", "route", "specimen", "method", "value", "severity"}),
}


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str
    source: str


@dataclass(frozen=True)
class Concept:
    key: str
    kind: str
    text: str
    category: str | None = None
    synonyms: tuple[str, ...] = ()
    unit: str | None = None
    codings: tuple[Coding, ...] = ()
    origin: str = ""  # "file:line" of its definition, for messages

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.text, *self.synonyms)


@dataclass(frozen=True)
class UnitEntry:
    written: tuple[str, ...]
    ucum: str
    display: str
    origin: str = ""


@dataclass(frozen=True)
class FhirCode:
    code: str
    display: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FhirSystem:
    name: str
    url: str
    source: str
    codes: tuple[FhirCode, ...] = ()


@dataclass
class Tables:
    """Everything read from one or more mapping folders, in reading order."""

    concepts: list[Concept] = field(default_factory=list)
    units: list[UnitEntry] = field(default_factory=list)
    systems: list[FhirSystem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def bundled_mappings_dir() -> Path:
    """The tables shipped with fhirconv: ``fhirconv/mappings`` once installed, ``mappings/`` in a source checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "mappings", package.parent / "mappings"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise MappingError("the bundled mapping tables are missing", hint="reinstall fhirconv")


def read_tables(folders: Iterable[Path]) -> Tables:
    tables = Tables()
    for folder in folders:
        if not folder.is_dir():
            raise MappingError(f"{folder} is not a folder", hint="--mappings takes a folder of *.yaml tables")
        compiled = _compiled(folder)
        if compiled is not None:
            tables.concepts.extend(compiled.concepts)
            tables.units.extend(compiled.units)
            tables.systems.extend(compiled.systems)
            tables.files.extend(compiled.files)
            continue
        for path in sorted(folder.glob("*.yaml")):
            _read_file(path, tables)
    return tables


# -- the compiled form of the bundled tables ------------------------------------------------------------------------
# Reading ~900 concepts of YAML takes seconds in pure Python; a JSON image of them loads in milliseconds. The image
# records a digest of the YAML it was made from and is used only while that digest still matches.

COMPILED_NAME = "mappings.json"


def tables_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def compiled_path() -> Path:
    return Path(str(importlib.resources.files("fhirconv.data"))) / COMPILED_NAME


def compile_tables(folder: Path) -> dict[str, Any]:
    tables = Tables()
    for path in sorted(folder.glob("*.yaml")):
        _read_file(path, tables)
    relative = {str(path): f"mappings/{Path(path).name}" for path in tables.files}

    def origin(text: str) -> str:
        file, _, line = text.rpartition(":")
        return f"{relative.get(file, file)}:{line}"

    return {
        "digest": tables_digest(folder),
        "files": [relative[f] for f in tables.files],
        "concepts": [
            {**asdict(c), "origin": origin(c.origin), "codings": [asdict(x) for x in c.codings]}
            for c in tables.concepts
        ],
        "units": [{**asdict(u), "origin": origin(u.origin)} for u in tables.units],
        "systems": [{**asdict(s), "codes": [asdict(x) for x in s.codes]} for s in tables.systems],
    }


def _compiled(folder: Path) -> Tables | None:
    if folder.resolve() != bundled_mappings_dir().resolve():
        return None
    try:
        image = json.loads(compiled_path().read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if image.get("digest") != tables_digest(folder):
        return None
    return Tables(
        concepts=[
            Concept(
                **{k: v for k, v in c.items() if k not in {"codings", "synonyms"}},
                synonyms=tuple(c["synonyms"]),
                codings=tuple(Coding(**x) for x in c["codings"]),
            )
            for c in image["concepts"]
        ],
        units=[UnitEntry(**{**u, "written": tuple(u["written"])}) for u in image["units"]],
        systems=[
            FhirSystem(
                **{k: v for k, v in s.items() if k != "codes"},
                codes=tuple(FhirCode(**{**x, "aliases": tuple(x["aliases"])}) for x in s["codes"]),
            )
            for s in image["systems"]
        ],
        files=list(image["files"]),
    )


def _read_file(path: Path, tables: Tables) -> None:
    with path.open("rb") as stream:
        try:
            document = load_case_document(stream, str(path))
        except FhirconvError as exc:
            raise MappingError(exc.message, location=exc.location, hint=exc.hint) from None
    tables.files.append(str(path))
    data = document.data
    if not isinstance(data, dict):
        raise _error(document, (), "a mapping table must be a mapping with 'concepts', 'units' or 'systems'")
    unknown = set(data) - {"concepts", "units", "systems"}
    if unknown:
        raise _error(document, (sorted(unknown)[0],), "unknown section", "a table has 'concepts', 'units' or 'systems'")
    for index, item in enumerate(_list(document, data, "concepts")):
        tables.concepts.append(_concept(document, ("concepts", index), item))
    for index, item in enumerate(_list(document, data, "units")):
        tables.units.append(_unit(document, ("units", index), item))
    systems = data.get("systems") or {}
    if not isinstance(systems, dict):
        raise _error(document, ("systems",), "'systems' must be a mapping of name to system")
    for name, item in systems.items():
        tables.systems.append(_system(document, ("systems", name), name, item))


def _list(document: LoadedDocument, data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name) or []
    if not isinstance(value, list):
        raise _error(document, (name,), f"'{name}' must be a list")
    return value


def _error(
    document: LoadedDocument, path: tuple[str | int, ...], message: str, hint: str | None = None
) -> MappingError:
    return MappingError(message, location=document.locate(path), hint=hint)


def _text(document: LoadedDocument, path: tuple[str | int, ...], value: Any, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise _error(document, path, "must be text")
    text = str(value).strip()
    if required and not text:
        raise _error(document, path, "must not be empty")
    return text


def _fields(document: LoadedDocument, path: tuple[str | int, ...], item: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _error(document, path, "must be a mapping")
    unknown = set(item) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise _error(document, (*path, name), f"unknown field {name!r}", f"allowed: {', '.join(sorted(allowed))}")
    return item


def _concept(document: LoadedDocument, path: tuple[str | int, ...], item: Any) -> Concept:
    item = _fields(document, path, item, {"key", "kind", "category", "text", "synonyms", "unit", "codings", "note"})
    key = _text(document, (*path, "key"), item.get("key"))
    kind = _text(document, (*path, "kind"), item.get("kind"))
    category = _text(document, (*path, "category"), item.get("category"), required=False) or None
    synonyms = item.get("synonyms") or []
    if not isinstance(synonyms, list):
        raise _error(document, (*path, "synonyms"), "must be a list")
    codings = item.get("codings") or []
    if not isinstance(codings, list):
        raise _error(document, (*path, "codings"), "must be a list")
    line = document.locate(path).line
    return Concept(
        key=key,
        kind=kind,
        category=category,
        text=_text(document, (*path, "text"), item.get("text", key)),
        synonyms=tuple(_text(document, (*path, "synonyms", i), s) for i, s in enumerate(synonyms)),
        unit=_text(document, (*path, "unit"), item.get("unit"), required=False) or None,
        codings=tuple(_coding(document, (*path, "codings", i), c) for i, c in enumerate(codings)),
        origin=f"{document.source}:{line}",
    )


def _coding(document: LoadedDocument, path: tuple[str | int, ...], item: Any) -> Coding:
    item = _fields(document, path, item, {"system", "code", "display", "source", "check", "note"})
    return Coding(
        system=_text(document, (*path, "system"), item.get("system")),
        code=_text(document, (*path, "code"), item.get("code")),
        display=_text(document, (*path, "display"), item.get("display")),
        source=_text(document, (*path, "source"), item.get("source")),
    )


def _unit(document: LoadedDocument, path: tuple[str | int, ...], item: Any) -> UnitEntry:
    item = _fields(document, path, item, {"written", "ucum", "display", "note"})
    written = item.get("written") or []
    if not isinstance(written, list) or not written:
        raise _error(document, (*path, "written"), "must be a non-empty list of unit spellings")
    ucum = _text(document, (*path, "ucum"), item.get("ucum"))
    return UnitEntry(
        written=tuple(_text(document, (*path, "written", i), w) for i, w in enumerate(written)),
        ucum=ucum,
        display=_text(document, (*path, "display"), item.get("display", ucum)),
        origin=f"{document.source}:{document.locate(path).line}",
    )


def _system(document: LoadedDocument, path: tuple[str | int, ...], name: str, item: Any) -> FhirSystem:
    item = _fields(document, path, item, {"url", "source", "codes"})
    codes = item.get("codes") or {}
    if not isinstance(codes, dict):
        raise _error(document, (*path, "codes"), "must be a mapping of code to {display, aliases}")
    entries: list[FhirCode] = []
    for code, spec in codes.items():
        spec = _fields(document, (*path, "codes", code), spec, {"display", "aliases"})
        aliases = spec.get("aliases") or []
        entries.append(
            FhirCode(
                code=str(code),
                display=_text(document, (*path, "codes", code, "display"), spec.get("display")),
                aliases=tuple(str(a) for a in aliases),
            )
        )
    return FhirSystem(
        name=name,
        url=_text(document, (*path, "url"), item.get("url")),
        source=_text(document, (*path, "source"), item.get("source")),
        codes=tuple(entries),
    )
