"""Pure rules of the enterprise profile: search keys, issue buckets, list cursors."""

from __future__ import annotations

import base64
import json
import unicodedata
from functools import lru_cache
from typing import Final

import opencc

__all__ = [
    "BUCKETS",
    "CursorError",
    "decode_cursor",
    "encode_cursor",
    "like_pattern",
    "normalise_text",
    "uscc_prefix_pattern",
]

#: Where an enterprise's issue stands, for the profile's counts: still being handled (open),
#: resolved and awaiting the enterprise's verdict, closed (销号), or ended otherwise (withdrawn,
#: merged into another issue).
BUCKETS: Final = ("open", "resolved", "closed", "ended")


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise_text(text: str) -> str:
    """The search form of a name: NFKC (full-width to half-width), Simplified script, lower
    case, runs of white space as one. Names and queries are normalised alike, so 溫嶺 finds
    温岭 and the reverse."""
    folded = unicodedata.normalize("NFKC", text)
    simplified: str = _to_simplified().convert(folded)
    return " ".join(simplified.lower().split())


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(query: str) -> str:
    """A LIKE pattern (``ESCAPE '\\'``) matching names that contain the normalised query."""
    return f"%{_escaped(normalise_text(query))}%"


def uscc_prefix_pattern(query: str) -> str:
    """A LIKE pattern (``ESCAPE '\\'``) matching USCCs that start with the query (half-width,
    upper case, no spaces)."""
    code = "".join(unicodedata.normalize("NFKC", query).upper().split())
    return f"{_escaped(code)}%"


class CursorError(ValueError):
    """A list cursor that this service did not issue."""


def encode_cursor(region_code: str, name: str, enterprise_id: str) -> str:
    """An opaque keyset cursor: the position after the given row in (region, name, id) order."""
    raw = json.dumps([region_code, name, enterprise_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        region_code, name, enterprise_id = json.loads(raw)
    except (ValueError, TypeError) as e:
        raise CursorError(f"not a cursor of this list: {cursor!r}") from e
    if not all(isinstance(v, str) for v in (region_code, name, enterprise_id)):
        raise CursorError(f"not a cursor of this list: {cursor!r}")
    return region_code, name, enterprise_id
