"""Versioned upcasters: how events stored by older versions of Lianxin are read today.

Each function takes the stored state of one event (a dict, as decoded from the stored JSON) and
rewrites it in place into the next version's shape. The event classes in ``domain/`` point at
these (``upcast_v1_v2 = staticmethod(...)``); the golden files in ``migrations/golden/`` prove
that events written by each version still load. Never edit a function once released: add the
next version's function instead.
"""

from __future__ import annotations

import re
from typing import Any

_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_AT_END = re.compile(r"^(?P<name>.*?)[\s,，/、:：]*(?P<phone>\+?[\d\-\s()（）]{5,})$")


def enterprise_registered_v1_v2(state: dict[str, Any]) -> None:
    """v1 (the pilot's import from the ledger spreadsheets) kept the contact as one cell,
    ``"张伟 13912345678"``, and had no tags. v2 splits the cell into name and phone and adds an
    empty tag list. A cell with no recognisable phone keeps all of it as the name."""
    contact = str(state.pop("contact", "") or "").strip()
    match = _PHONE_AT_END.match(contact)
    if match and sum(c.isdigit() for c in match["phone"]) >= 5:
        state["contact_name"] = match["name"].strip()
        state["contact_phone"] = _phone(match["phone"])
    else:
        state["contact_name"] = contact
        state["contact_phone"] = ""
    state.setdefault("tags", [])


def _phone(typed: str) -> str:
    """Mobiles as v2 stores them (11 digits); anything else as typed, without spaces."""
    digits = re.sub(r"[\s()（）\-]", "", typed).removeprefix("+86")
    return digits if _MOBILE.fullmatch(digits) else re.sub(r"\s", "", typed)


def issue_raised_v1_v2(state: dict[str, Any]) -> None:
    """v1 recorded only issues collected on visits and knew no tiers: no ``channel``,
    ``tier`` or ``raised_by``. v2 adds them: the channel was a visit if a visit is named (else
    the liaison card, the pilot's only other intake), the tier the default routine, and the
    reporter unknown (empty)."""
    state.setdefault("channel", "visit" if state.get("visit_id") else "liaison_card")
    state.setdefault("tier", "routine")
    state.setdefault("raised_by", "")
