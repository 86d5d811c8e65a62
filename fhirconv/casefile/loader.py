"""Read a case file (YAML or JSON) into plain Python data plus a map from field paths to line and column.

PyYAML's composer gives us nodes with marks; we build the data ourselves from those nodes so that every mapping
key and list item keeps its position, numbers keep the digits the author wrote (``Decimal``), and dates stay text
for the timeline to read. Aliases are refused outright: case files never need them and they are the door to
"billion laughs" expansion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fhirconv.errors import CaseSyntaxError, FhirconvError, Location, render_path

FieldPath = tuple[str | int, ...]

#: Far above any real case report; stops a mistaken multi-gigabyte file from eating memory.
MAX_CASE_FILE_BYTES = 20 * 1024 * 1024

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass
class LoadedDocument:
    """The data of a case file and where each field came from."""

    data: Any
    source: str
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

    def place(self, error: FhirconvError) -> FhirconvError:
        """Give ``error`` this file and the line of its field path."""
        if error.field_path is not None:
            return error.with_location(self.locate(error.field_path))
        return error.with_location(Location(file=self.source))

    def locate(self, path: FieldPath) -> Location:
        """The location of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                line, column = self.positions[probe]
                return Location(file=self.source, line=line, column=column, field=render_path(path))
            probe = probe[:-1]
        return Location(file=self.source, line=1, column=1, field=render_path(path) or None)


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases are not allowed in case files",
                event.start_mark,  # type: ignore[arg-type]
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML anchors are not allowed in case files",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _decode(raw: bytes, source: str) -> str:
    if not raw.strip():
        raise CaseSyntaxError(
            "the file is empty",
            location=Location(file=source, line=1, column=1),
            hint="a case file starts with 'format: fhirconv-case/1'; run 'fhirconv schema' for the format",
        )
    if len(raw) > MAX_CASE_FILE_BYTES:
        raise CaseSyntaxError(
            f"the file is {len(raw)} bytes, more than the {MAX_CASE_FILE_BYTES} a case file may have",
            location=Location(file=source),
            hint="split the case into several files",
        )
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        line = raw.count(b"\n", 0, offset) + 1
        raise CaseSyntaxError(
            "the file is binary, not YAML or JSON text",
            location=Location(file=source, line=line),
            hint="give a UTF-8 text file",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CaseSyntaxError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            location=Location(file=source, line=line),
            hint="save the file as UTF-8",
        ) from None
    return text


def load_case_document(stream: IO[bytes], source: str) -> LoadedDocument:
    """Read YAML or JSON from ``stream``; ``source`` names the file in messages."""
    text = _decode(stream.read(), source)
    if text.lstrip().startswith(("{", "[")):
        _check_json_syntax(text, source)
    try:
        loader = _NoAliasLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be read"
        raise CaseSyntaxError(
            f"YAML syntax error: {problem}",
            location=Location(
                file=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ),
            hint="check indentation and quoting on this line or the one before",
        ) from None
    except yaml.YAMLError as exc:
        raise CaseSyntaxError(f"YAML error: {exc}", location=Location(file=source)) from None
    if node is None:
        raise CaseSyntaxError(
            "the file holds no data",
            location=Location(file=source, line=1, column=1),
            hint="a case file starts with 'format: fhirconv-case/1'",
        )
    document = LoadedDocument(data=None, source=source)
    document.data = _build(node, (), document.positions, source)
    return document


def _check_json_syntax(text: str, source: str) -> None:
    """JSON gets JSON's own syntax errors, which point at the right place, before the YAML reading."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseSyntaxError(
            f"JSON syntax error: {exc.msg}",
            location=Location(file=source, line=exc.lineno, column=exc.colno),
            hint="check the commas and quotes near this place",
        ) from None


def _build(node: Node, path: FieldPath, positions: dict[FieldPath, tuple[int, int]], source: str) -> Any:
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise CaseSyntaxError(
                    "a mapping key must be a plain name",
                    location=Location(
                        file=source, line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1
                    ),
                )
            key = str(key_node.value)
            if key in result:
                raise CaseSyntaxError(
                    f"the key {key!r} appears twice in the same mapping",
                    location=Location(
                        file=source, line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1
                    ),
                    hint="remove or rename one of them",
                )
            child = (*path, key)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(value_node, child, positions, source)
        return result
    if isinstance(node, SequenceNode):
        return [_build(item, (*path, index), positions, source) for index, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    return _scalar(node)


def _scalar(node: ScalarNode) -> Any:
    value = str(node.value)
    if node.style is not None and node.style in "'\"":
        return value
    if node.tag == _INT_TAG:
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return value
    if node.tag == _FLOAT_TAG:
        try:
            number = Decimal(value.replace("_", ""))
        except InvalidOperation:
            return value
        return number if number.is_finite() else value
    if node.tag == _BOOL_TAG:
        # YAML 1.2 booleans only: 'yes', 'no', 'on', 'off' stay text, as an author writing "value: no" means.
        if value.lower() in {"true", "false"}:
            return value.lower() == "true"
        return value
    if node.tag == _NULL_TAG:
        return None
    # Timestamps and everything else stay as the author wrote them; the timeline parses dates itself.
    return value
