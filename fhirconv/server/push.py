"""Push bundles to a FHIR server: transactions (split when asked), $validate dry runs, and read-back verification."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhirconv.errors import InputError, ServerRejected, VerificationFailed
from fhirconv.server.client import FhirClient
from fhirconv.server.outcome import outcome_lines
from fhirconv.server.split import references, split_transaction

_REFERENCE_IN_TEXT = re.compile(r"\b[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")

# Elements a server sets itself and that a read-back comparison leaves out.
_SERVER_OWNED = {"meta", "text"}


@dataclass(frozen=True)
class EntryResult:
    resource: str  # Type/id as sent
    status: str
    location: str | None


@dataclass
class PushReport:
    entries: list[EntryResult] = field(default_factory=list)
    transactions: int = 0

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            code = entry.status.split(" ", 1)[0]
            counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items()))


def _check_pushable(bundle: dict[str, Any], source: str) -> None:
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in {"transaction", "batch"}:
        kind = bundle.get("type") if bundle.get("resourceType") == "Bundle" else bundle.get("resourceType")
        raise InputError(
            f"{source} is a {kind}, not a transaction bundle",
            hint="convert with --bundle-type transaction (the default) to push",
        )


def push_bundle(
    client: FhirClient,
    bundle: dict[str, Any],
    *,
    source: str = "bundle",
    max_entries: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> PushReport:
    """POST ``bundle`` as one transaction, or as several of at most ``max_entries`` entries."""
    _check_pushable(bundle, source)
    parts = split_transaction(bundle, max_entries) if max_entries else [bundle]
    report = PushReport()
    for number, part in enumerate(parts, 1):
        try:
            answer = client.transaction(part)
        except ServerRejected as exc:
            if len(parts) > 1:
                exc.message += f" (transaction {number} of {len(parts)}; the ones before it were stored)"
            _name_failing_entry(exc, part)
            raise
        report.transactions += 1
        sent = part.get("entry") or []
        for entry, result in zip(sent, answer.get("entry") or [], strict=False):
            response = result.get("response") or {}
            resource = entry.get("resource") or {}
            report.entries.append(
                EntryResult(
                    resource=f"{resource.get('resourceType')}/{resource.get('id')}",
                    status=str(response.get("status", "?")),
                    location=response.get("location"),
                )
            )
        if progress is not None and len(parts) > 1:
            progress(f"transaction {number} of {len(parts)}: {len(sent)} entries stored")
    return report


def _name_failing_entry(error: ServerRejected, part: dict[str, Any]) -> None:
    """Say which entry failed: the one the diagnostics name by fullUrl or Type/id, else the one entry holding a
    reference the diagnostics name (servers report a missing target as 'Resource Patient/x not found')."""
    text = " ".join(error.issues)
    entries = [(index, entry, entry.get("resource") or {}) for index, entry in enumerate(part.get("entry") or [])]

    def named(entry: dict[str, Any], resource: dict[str, Any]) -> bool:
        names = [entry.get("fullUrl"), f"{resource.get('resourceType')}/{resource.get('id')}"]
        return any(name and name in text for name in names)

    found = [item for item in entries if named(item[1], item[2])]
    if not found:
        mentioned = set(_REFERENCE_IN_TEXT.findall(text))
        found = [item for item in entries if mentioned & set(references(item[2]))]
    if len(found) == 1:
        index, _, resource = found[0]
        identifier = (resource.get("identifier") or [{}])[0].get("value")
        label = f"{resource.get('resourceType')}/{resource.get('id')}"
        error.issues.append(f"failing entry: #{index} {label}" + (f" ({identifier})" if identifier else ""))


def dry_run(client: FhirClient, bundle: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Ask the server to $validate each resource; changes nothing. Per resource: its issue lines."""
    results = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        outcome = client.validate(resource)
        results.append((f"{resource.get('resourceType')}/{resource.get('id')}", outcome_lines(outcome)))
    return results


def verify(client: FhirClient, bundle: dict[str, Any]) -> int:
    """Read back every resource of ``bundle`` and compare it with what was sent; raises on any difference."""
    relative = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in bundle.get("entry") or []
        if entry.get("fullUrl") and (entry.get("resource") or {}).get("id")
    }
    differences: list[str] = []
    checked = 0
    for entry in bundle.get("entry") or []:
        sent = entry.get("resource")
        if not isinstance(sent, dict) or not sent.get("id"):
            continue
        stored = client.read(sent["resourceType"], sent["id"])
        expected = _comparable(_resolve_references(sent, relative))
        found = _comparable(stored)
        where = f"{sent['resourceType']}/{sent['id']}"
        differences.extend(f"{where}: {line}" for line in _diff(expected, found, ""))
        checked += 1
    if differences:
        raise VerificationFailed(
            f"{len(differences)} difference{'s' if len(differences) != 1 else ''} between what was sent and what the "
            "server holds",
            differences,
        )
    return checked


def _resolve_references(value: Any, relative: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: relative.get(v, v) if k == "reference" and isinstance(v, str) else _resolve_references(v, relative)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_resolve_references(v, relative) for v in value]
    return value


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in _SERVER_OWNED}


def _diff(expected: Any, found: Any, path: str) -> list[str]:
    if isinstance(expected, dict) and isinstance(found, dict):
        lines = []
        for key in sorted(set(expected) | set(found)):
            child = f"{path}.{key}" if path else key
            if key not in found:
                lines.append(f"{child} was sent but is missing")
            elif key not in expected:
                lines.append(f"{child} is present but was not sent")
            else:
                lines.extend(_diff(expected[key], found[key], child))
        return lines
    if isinstance(expected, list) and isinstance(found, list):
        if len(expected) != len(found):
            return [f"{path} has {len(found)} items, {len(expected)} were sent"]
        lines = []
        for index, (a, b) in enumerate(zip(expected, found, strict=True)):
            lines.extend(_diff(a, b, f"{path}[{index}]"))
        return lines
    if expected == found:
        return []
    numbers = (int, float, Decimal)
    if (
        isinstance(expected, numbers)
        and isinstance(found, numbers)
        and not isinstance(expected, bool)
        and not isinstance(found, bool)
        and Decimal(str(expected)) == Decimal(str(found))
    ):
        return []
    return [f"{path} is {found!r}, {expected!r} was sent"]
