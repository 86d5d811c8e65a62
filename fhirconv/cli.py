"""The command line: parse arguments, call the library, turn errors into one line and an exit code.

Exit codes: 0 success; 1 input or validation problem; 2 usage; 3 server rejected the request or is unreachable.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from fhirconv import __version__
from fhirconv.errors import FhirconvError, ValidationFailed

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_SERVER = 0, 1, 2, 3

_EPILOG = """\
exit codes: 0 success, 1 input or validation problem, 2 usage, 3 server problem

examples:
  fhirconv convert samples/anti-mda5-dermatomyositis.yaml -o bundle.json
  fhirconv validate bundle.json
  fhirconv validate bundle.json --profile-dir profiles/
  fhirconv mappings show "créatine kinase"
  fhirconv schema > case-file.schema.json
  fhirconv push bundle.json --server http://localhost:8080/fhir
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"fhirconv: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


class _StrictParser(_Parser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fhirconv",
        description="Turn clinical case files (YAML or JSON) into validated FHIR R4 bundles.",
        epilog=_EPILOG,
        formatter_class=_formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"fhirconv {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback when something fails")
    # Sub-parsers refuse abbreviations too: "--token" must not quietly mean "--token-env".
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_StrictParser)
    commands.required = True

    convert = commands.add_parser(
        "convert",
        help="convert a case file into a FHIR R4 bundle",
        description="Convert a case file into a FHIR R4 bundle (transaction by default), validate it, and write it.",
        epilog=textwrap.dedent(
            """\
            examples:
              fhirconv convert samples/anti-mda5-dermatomyositis.yaml -o bundle.json
              fhirconv convert case.yaml --format xml -o bundle.xml
              fhirconv convert case.yaml --bundle-type collection --index-date 2021-03-01
              fhirconv convert case.yaml --mappings my-tables/ --allow-unmapped
              fhirconv convert case.yaml --profile-dir profiles/ -o bundle.json
            """
        ),
        formatter_class=_formatter,
    )
    convert.add_argument("case", type=Path, help="the case file (.yaml, .yml or .json)")
    convert.add_argument("-o", "--output", type=Path, help="where to write the result (default: standard output)")
    convert.add_argument(
        "--format", choices=["json", "xml", "ndjson"], default="json", help="output format (default json)"
    )
    convert.add_argument(
        "--bundle-type",
        choices=["transaction", "collection"],
        default="transaction",
        help="bundle type (default transaction)",
    )
    convert.add_argument(
        "--index-date", metavar="DATE", help="the index date to use instead of the file's (YYYY-MM-DD)"
    )
    _add_mapping_options(convert)
    convert.add_argument(
        "--allow-unmapped", action="store_true", help="keep unknown terms as text-only concepts and list them"
    )
    convert.add_argument("--no-validate", action="store_true", help="write the bundle even if validation finds errors")
    _add_profile_options(convert)
    convert.add_argument("--push", metavar="URL", help="also push the bundle to this FHIR server (see 'fhirconv push')")
    _add_server_options(convert, server_required=False)

    push = commands.add_parser(
        "push",
        help="push transaction bundles to a FHIR server",
        description=(
            "POST transaction bundles to a FHIR server, with retries on 429/502/503/504 and dropped connections. "
            "Bundles from 'fhirconv convert' PUT each resource on its deterministic id, so pushing again creates "
            "nothing new. Secrets are read from the environment or a file, never from the command line."
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              fhirconv push bundle.json --server http://localhost:8080/fhir
              FHIR_TOKEN=... fhirconv push out/*.json --server https://fhir.example.org/r4 --token-env FHIR_TOKEN
              fhirconv push big.json --server http://localhost:8080/fhir --max-entries 500 --verify
              fhirconv push bundle.json --server http://localhost:8080/fhir --dry-run
            """
        ),
        formatter_class=_formatter,
    )
    push.add_argument("bundles", nargs="+", type=Path, metavar="BUNDLE", help="transaction bundle files (JSON or XML)")
    push.add_argument("--jobs", type=int, default=1, metavar="N", help="push up to N bundles at a time (default 1)")
    _add_server_options(push, server_required=True)

    validate = commands.add_parser(
        "validate",
        help="check a FHIR R4 bundle (JSON or XML)",
        description=(
            "Check a bundle: it parses as FHIR R4, every reference resolves inside it, every coding of a known "
            "system is in the mappings with its exact display, and every UCUM code is valid. A resource that "
            "declares profiles (meta.profile) is checked against those found in --profile-dir folders and R4's own "
            "profiles (vitalsigns, bodyweight, bp, ...); a profile that is not found gives a warning that it was not "
            "checked."
        ),
        epilog=(
            "examples:\n  fhirconv validate bundle.json\n  fhirconv validate bundle.xml --format json\n"
            "  fhirconv validate bundle.json --profile-dir profiles/ --profile-dir more-profiles/\n"
        ),
        formatter_class=_formatter,
    )
    validate.add_argument("bundle", type=Path, help="the bundle file (.json or .xml)")
    validate.add_argument(
        "--format", choices=["text", "json"], default="text", help="report format (json: OperationOutcome)"
    )
    _add_mapping_options(validate)
    _add_profile_options(validate)

    mappings = commands.add_parser(
        "mappings",
        help="list, show or check the concept tables",
        description="Work with the concept tables that map terms to SNOMED CT, LOINC, RxNorm, ATC, ICD-10 and UCUM.",
        epilog=(
            "examples:\n  fhirconv mappings list --kind medication\n  fhirconv mappings show CK\n"
            "  fhirconv mappings check --mappings my-tables/\n"
        ),
        formatter_class=_formatter,
    )
    actions = mappings.add_subparsers(dest="action", metavar="ACTION", parser_class=_StrictParser)
    actions.required = True
    listing = actions.add_parser(
        "list",
        help="list the concepts",
        epilog="example:\n  fhirconv mappings list --kind condition\n",
        formatter_class=_formatter,
    )
    listing.add_argument("--kind", help="only this kind (observation, condition, medication, procedure, ...)")
    _add_mapping_options(listing)
    show = actions.add_parser(
        "show",
        help="say what a term maps to",
        epilog='example:\n  fhirconv mappings show "créatine kinase"\n',
        formatter_class=_formatter,
    )
    show.add_argument("term", help="a key or synonym, English or French")
    _add_mapping_options(show)
    check = actions.add_parser(
        "check",
        help="check the tables: duplicates, malformed codes, unknown UCUM units",
        epilog="example:\n  fhirconv mappings check --mappings my-tables/\n",
        formatter_class=_formatter,
    )
    _add_mapping_options(check)

    commands.add_parser(
        "schema",
        help="print the JSON Schema of the case-file format",
        description="Print the JSON Schema of the case-file format, for editors that complete and check YAML/JSON.",
        epilog="example:\n  fhirconv schema > case-file.schema.json\n",
        formatter_class=_formatter,
    )
    return parser


def _add_server_options(parser: argparse.ArgumentParser, *, server_required: bool) -> None:
    group = parser.add_argument_group("server")
    if server_required:
        group.add_argument("--server", metavar="URL", required=True, help="the FHIR server's base URL")
    group.add_argument("--token-env", metavar="VAR", help="read a bearer token from this environment variable")
    group.add_argument("--token-file", metavar="FILE", type=Path, help="read a bearer token from this file")
    group.add_argument("--user", metavar="NAME", help="basic authentication user (password from --password-env/-file)")
    group.add_argument("--password-env", metavar="VAR", help="read the basic-auth password from this variable")
    group.add_argument("--password-file", metavar="FILE", type=Path, help="read the basic-auth password from a file")
    group.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="an extra request header (repeatable)"
    )
    group.add_argument(
        "--ca-bundle", metavar="FILE", type=Path, help="trust this CA bundle for TLS (verification stays on)"
    )
    group.add_argument(
        "--connect-timeout", type=float, default=10.0, metavar="S", help="connect timeout (default 10 s)"
    )
    group.add_argument("--read-timeout", type=float, default=120.0, metavar="S", help="read timeout (default 120 s)")
    group.add_argument("--retries", type=int, default=4, metavar="N", help="retries after the first try (default 4)")
    group.add_argument(
        "--max-entries", type=int, metavar="N", help="split bundles into transactions of at most N entries"
    )
    group.add_argument(
        "--dry-run", action="store_true", help="ask the server to $validate each resource; store nothing"
    )
    group.add_argument(
        "--verify", action="store_true", help="read back what was stored and compare it with what was sent"
    )


def _add_profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help=(
            "a folder of StructureDefinition, ValueSet and CodeSystem JSON files (or Bundles of them): resources "
            "declaring those profiles in meta.profile are checked against them (repeatable)"
        ),
    )


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mappings",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a folder of extra tables (repeatable)",
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        from fhirconv import commands

        return commands.run(args, out, err)
    except ValidationFailed as exc:
        err.write(f"fhirconv: {exc.one_line()}\n")
        return EXIT_INPUT
    except FhirconvError as exc:
        if args.debug:
            raise
        from fhirconv.pushing import render_server_error

        render_server_error(exc, err)
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("fhirconv: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        err.write(f"fhirconv: internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n")
        return EXIT_INPUT
