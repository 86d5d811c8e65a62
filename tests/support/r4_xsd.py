"""The official FHIR R4 XML schemas, taken from HAPI's hapi-fhir-validation-resources-r4 jar.

The jar is copied into ``tests/java/validator/target/lib`` by the validator harness's build (``run.sh``);
``r4_xsd_dir()`` builds the harness if the jar is not there yet, extracts the schema folder once into
``tests/java/validator/target/xsd`` and returns that folder::

    from lxml import etree
    from tests.support.r4_xsd import r4_xsd_dir

    schema = etree.XMLSchema(file=str(r4_xsd_dir() / "fhir-single.xsd"))
    schema.assertValid(etree.parse("bundle.xml"))

``fhir-single.xsd`` imports ``xml.xsd`` and ``fhir-xhtml.xsd`` from the same folder; the per-resource schemas
(``patient.xsd``, ``fhir-base.xsd``, ...) and the schematron files (``*.sch``) are extracted as well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.support.hapi_validator import RUN_SH

__all__ = ["SCHEMA_PREFIX", "XSD_DIR", "find_schema_jar", "r4_xsd_dir"]

HARNESS_DIR: Path = RUN_SH.parent
LIB_DIR: Path = HARNESS_DIR / "target" / "lib"
XSD_DIR: Path = HARNESS_DIR / "target" / "xsd"
SCHEMA_PREFIX = "org/hl7/fhir/r4/model/schema/"
_MARKER = ".extracted-from"


def find_schema_jar(lib_dir: Path = LIB_DIR) -> Path | None:
    """The jar in ``lib_dir`` that holds ``fhir-single.xsd`` for R4 (normally hapi-fhir-validation-resources-r4)."""
    if not lib_dir.is_dir():
        return None
    candidates = sorted(lib_dir.glob("hapi-fhir-validation-resources-r4-*.jar")) + sorted(
        p for p in lib_dir.glob("*.jar") if not p.name.startswith("hapi-fhir-validation-resources-r4-")
    )
    for jar in candidates:
        try:
            with zipfile.ZipFile(jar) as z:
                z.getinfo(SCHEMA_PREFIX + "fhir-single.xsd")
                return jar
        except (KeyError, zipfile.BadZipFile, OSError):
            continue
    return None


def r4_xsd_dir(*, build_timeout: float = 1200.0) -> Path:
    """Folder holding the official R4 ``fhir-single.xsd`` and the files it imports (extracted once)."""
    jar = find_schema_jar()
    if jar is None:
        # the jar comes with the harness build (mvn ... dependency:copy-dependencies)
        subprocess.run(
            ["bash", str(RUN_SH)],
            env={**os.environ, "HARNESS_BUILD_ONLY": "1"},
            stdin=subprocess.DEVNULL,
            check=True,
            timeout=build_timeout,
        )
        jar = find_schema_jar()
        if jar is None:
            raise FileNotFoundError(f"no jar with {SCHEMA_PREFIX}fhir-single.xsd in {LIB_DIR}")

    marker = XSD_DIR / _MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == jar.name and (XSD_DIR / "fhir-single.xsd").is_file():
        return XSD_DIR

    # extract into a fresh sibling folder, then swap it in (safe against a half-written folder)
    tmp = XSD_DIR.with_name(f"xsd.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar) as z:
        for info in z.infolist():
            name = info.filename
            if info.is_dir() or not name.startswith(SCHEMA_PREFIX):
                continue
            rel = name[len(SCHEMA_PREFIX) :]
            if "/" in rel or not rel:  # the folder itself only, no subfolders
                continue
            (tmp / rel).write_bytes(z.read(info))
    (tmp / _MARKER).write_text(jar.name, encoding="utf-8")
    if XSD_DIR.exists():
        old = XSD_DIR.with_name(f"xsd.old-{os.getpid()}")
        XSD_DIR.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        tmp.rename(XSD_DIR)
    except OSError:  # another process won the race; use its folder
        shutil.rmtree(tmp, ignore_errors=True)
    return XSD_DIR
