"""Minting tokens for development and tests (``lianxin token …``).

In production an identity provider issues the tokens; this signs with the API's own HMAC
secret (or a private key given explicitly), with the claims the API verifies.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from graphql_api.auth import HMAC_ALGORITHMS, JwtSettings, Principal, principal_claims

DEFAULT_TTL = timedelta(hours=8)
_TTL = re.compile(r"\s*(\d+)\s*([smhd])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_ttl(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"8h"`` or ``"7d"`` as a duration."""
    match = _TTL.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"not a lifetime: {text!r} (use e.g. 30m, 8h, 7d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def mint_token(
    settings: JwtSettings,
    principal: Principal,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
    private_key: str | None = None,
) -> str:
    """A signed token for ``principal``, valid from ``now`` for ``ttl``.

    HMAC settings sign with their secret; public-key settings need ``private_key`` (PEM).
    """
    issued = now or datetime.now(UTC)
    if issued.tzinfo is None:
        raise ValueError("now must carry a timezone")
    claims = {
        **principal_claims(principal),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    if settings.algorithm in HMAC_ALGORITHMS:
        key = settings.key
    elif private_key:
        key = private_key
    else:
        raise ValueError(f"{settings.algorithm} tokens are signed with a private key: pass one")
    return jwt.encode(claims, key, algorithm=settings.algorithm)
