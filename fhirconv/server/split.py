"""Split a transaction bundle into smaller transactions without breaking references.

Entries are grouped by the references between them: a resource and everything it points at, directly or through a
cycle, go in the same transaction or an earlier one. References to entries of an earlier transaction are rewritten
from their urn:uuid fullUrl to ``Type/id``, which the server knows by then (the entries are PUTs on those ids).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fhirconv.errors import InputError


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                yield child
            else:
                yield from references(child)
    elif isinstance(value, list):
        for child in value:
            yield from references(child)


def _strongly_connected(graph: list[set[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative; components come out dependencies first."""
    index_of: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(len(graph)):
        if root in index_of:
            continue
        work: list[tuple[int, Iterator[int]]] = [(root, iter(sorted(graph[root])))]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def split_transaction(bundle: dict[str, Any], max_entries: int) -> list[dict[str, Any]]:
    """Transactions of at most ``max_entries`` entries each, in an order the server can apply one after the other."""
    if max_entries < 1:
        raise InputError("--max-entries must be at least 1")
    entries = bundle.get("entry") or []
    if len(entries) <= max_entries:
        return [bundle]
    position: dict[str, int] = {}
    for index, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            position[entry["fullUrl"]] = index
        if resource.get("resourceType") and resource.get("id"):
            position[f"{resource['resourceType']}/{resource['id']}"] = index
    graph = [
        {position[ref] for ref in references(entry.get("resource")) if ref in position} - {index}
        for index, entry in enumerate(entries)
    ]
    chunks: list[list[int]] = [[]]
    for component in _strongly_connected(graph):
        if len(component) > max_entries:
            raise InputError(
                f"{len(component)} entries refer to each other in a cycle and cannot be split below that size",
                hint=f"use --max-entries {len(component)} or more",
            )
        if len(chunks[-1]) + len(component) > max_entries:
            chunks.append([])
        chunks[-1].extend(component)
    placed = {index: number for number, chunk in enumerate(chunks) for index in chunk}
    relative = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in entries
        if entry.get("fullUrl") and (entry.get("resource") or {}).get("id")
    }
    result = []
    for number, chunk in enumerate(chunks):
        earlier = {url for url, index in position.items() if url.startswith("urn:") and placed[index] < number}
        chunk_entries = [_rewrite(copy.deepcopy(entries[index]), earlier, relative) for index in sorted(chunk)]
        result.append({**{k: v for k, v in bundle.items() if k not in {"entry", "id"}}, "entry": chunk_entries})
    return result


def _rewrite(value: Any, earlier: set[str], relative: dict[str, str]) -> Any:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str) and child in earlier:
                value[key] = relative[child]
            elif key != "fullUrl":
                _rewrite(child, earlier, relative)
    elif isinstance(value, list):
        for child in value:
            _rewrite(child, earlier, relative)
    return value
