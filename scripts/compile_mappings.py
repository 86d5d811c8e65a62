"""Write fhirconv/data/mappings.json, the fast-loading image of the bundled tables in mappings/.

Run it after editing any table: ``python scripts/compile_mappings.py``. The image carries a digest of the YAML; fhirconv
ignores a stale image (and reads the YAML, slowly), and the test suite fails until the image is regenerated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fhirconv.terminology.lookup import Terminology
from fhirconv.terminology.tables import compile_tables, compiled_path, read_tables


def main() -> int:
    folder = Path(__file__).resolve().parents[1] / "mappings"
    # Load through the checking path first, so that a broken table never gets compiled.
    Terminology(read_tables([folder]))
    image = compile_tables(folder)
    target = compiled_path()
    target.write_text(json.dumps(image, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n", "utf-8")
    print(f"wrote {target} ({len(image['concepts'])} concepts, {len(image['units'])} unit entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
