"""How terms are compared: case, accents, hyphens and spacing do not matter."""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "’": "'", "‘": "'"})
_SEPARATORS = re.compile(r"[\s\-_‐‑–—]+")


def normalize(term: str) -> str:
    """``'Œdème des paupières'`` -> ``'oedeme des paupieres'``; ``'anti-MDA5'`` -> ``'anti mda5'``."""
    text = term.translate(_LIGATURES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", text.casefold()).strip()
