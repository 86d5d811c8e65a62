"""The push side of the CLI: credentials from the environment or files, one client, people-readable results."""

from __future__ import annotations

import argparse
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from fhirconv.errors import FhirconvError, InputError, Location, ServerRejected
from fhirconv.server import Credentials, FhirClient, RetryPolicy, Timeouts, dry_run, push_bundle, verify


def _secret_from(env: str | None, file: Path | None, what: str) -> str | None:
    if env and file:
        raise InputError(f"give the {what} by environment variable or by file, not both")
    if env:
        value = os.environ.get(env)
        if not value:
            raise InputError(
                f"the environment variable {env} is not set or empty", hint=f"export {env} with the {what}"
            )
        return value.strip()
    if file:
        try:
            value = file.read_text("utf-8").strip()
        except OSError as exc:
            raise InputError(f"cannot read the {what}: {exc.strerror}", location=Location(file=str(file))) from None
        if not value:
            raise InputError(f"the {what} file is empty", location=Location(file=str(file)))
        return value
    return None


def credentials(args: argparse.Namespace) -> Credentials:
    token = _secret_from(args.token_env, args.token_file, "token")
    password = _secret_from(args.password_env, args.password_file, "password")
    if args.user and password is None:
        raise InputError("--user needs --password-env or --password-file")
    if password is not None and not args.user:
        raise InputError("a password needs --user")
    if token and args.user:
        raise InputError("give a bearer token or a user and password, not both")
    headers: dict[str, str] = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise InputError(f"--header {header!r} is not 'Name: value'")
        headers[name.strip()] = value.strip()
    return Credentials(
        bearer_token=token, basic=(args.user, password) if args.user and password else None, headers=headers
    )


def client(args: argparse.Namespace, url: str, err: TextIO, secrets: Credentials | None = None) -> FhirClient:
    """A client configured from the command line; ``secrets`` saves reading the token or password files again."""
    return FhirClient(
        url,
        credentials=secrets if secrets is not None else credentials(args),
        timeouts=Timeouts(connect=args.connect_timeout, read=args.read_timeout),
        retry=RetryPolicy(attempts=max(1, args.retries + 1)),
        verify=str(args.ca_bundle) if args.ca_bundle else True,
        log=lambda line: _write(err, f"fhirconv: note: {line}\n"),
    )


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)


def push_one(args: argparse.Namespace, fhir: FhirClient, bundle: dict[str, Any], source: str, out: TextIO) -> None:
    if args.dry_run:
        results = dry_run(fhir, bundle)
        errors = 0
        for resource, lines in results:
            for line in lines:
                out.write(f"{resource}  {line}\n")
                errors += line.startswith(("error", "fatal"))
        out.write(f"{source}: {len(results)} resources validated by the server, {errors} with errors; nothing stored\n")
        if errors:
            raise ServerRejected(f"the server found errors in {source}", url=fhir.base_url)
        return
    report = push_bundle(
        fhir, bundle, source=source, max_entries=args.max_entries, progress=lambda line: _write(out, f"{line}\n")
    )
    for entry in report.entries:
        out.write(f"{entry.status:<12} {entry.resource}" + (f"  -> {entry.location}" if entry.location else "") + "\n")
    counts = ", ".join(f"{count} x {status}" for status, count in report.summary().items())
    out.write(f"{source}: {len(report.entries)} entries in {report.transactions} transaction(s): {counts}\n")
    if args.verify:
        checked = verify(fhir, bundle)
        out.write(f"{source}: verified {checked} resources read back from the server\n")


def push_all(args: argparse.Namespace, bundles: list[tuple[Path, dict[str, Any]]], out: TextIO, err: TextIO) -> int:
    """Push every bundle, ``args.jobs`` at a time, each worker with one client (one session, kept across its
    bundles); report in the order given. A failed bundle does not stop the others; the exit code is 3 if any failed."""
    secrets = credentials(args)  # read once, and refuse bad credential options before any request
    local = threading.local()
    clients: list[FhirClient] = []
    notes_lock = threading.Lock()

    def worker_client() -> FhirClient:
        fhir: FhirClient | None = getattr(local, "client", None)
        if fhir is None:
            local.notes = io.StringIO()
            fhir = client(args, args.server, local.notes, secrets)
            local.client = fhir
            with notes_lock:
                clients.append(fhir)
        return fhir

    def one(item: tuple[Path, dict[str, Any]]) -> tuple[str, str, FhirconvError | None]:
        path, bundle = item
        buffer = io.StringIO()
        fhir = worker_client()
        start = local.notes.tell()
        try:
            push_one(args, fhir, bundle, str(path), buffer)
            error = None
        except FhirconvError as exc:
            error = exc
        return buffer.getvalue(), local.notes.getvalue()[start:], error

    jobs = max(1, min(args.jobs, len(bundles)))
    try:
        if jobs == 1:
            results = [one(item) for item in bundles]
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(one, bundles))
    finally:
        for fhir in clients:
            fhir.close()
    failures = 0
    for text, notes, error in results:
        out.write(text)
        err.write(notes)
        if error is not None:
            failures += 1
            render_server_error(error, err)
    if failures and len(bundles) > 1:
        err.write(f"fhirconv: {failures} of {len(bundles)} bundles failed\n")
    if failures:
        return max(error.exit_code for _, _, error in results if error is not None)
    return 0


def render_server_error(error: FhirconvError, err: TextIO) -> None:
    """The error line, then each OperationOutcome issue (or difference) on its own line."""
    err.write(f"fhirconv: error: {error.one_line()}\n")
    for line in getattr(error, "issues", []) or []:
        err.write(f"  {line}\n")
    for line in getattr(error, "differences", []) or []:
        err.write(f"  {line}\n")
